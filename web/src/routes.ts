// Every page of the app, each its own module loaded when first visited. The server answers
// every other path (outside /api/v1, /socket.io/, /media/, /docs, ...) with the app, so these
// URLs can be bookmarked and mailed (the mailed account links open the token pages).
import { createRoutes } from "./router";

const tokens = () => import("./pages/tokens");

export const Router = createRoutes(
  [
    ["/", () => import("./pages/home")],
    ["/signin", () => import("./pages/signin")],
    ["/signup", () => import("./pages/signup")],
    ["/forgot-password", () => tokens().then((m) => ({ default: m.Forgot }))],
    ["/reset-password", () => tokens().then((m) => ({ default: m.Reset }))],
    ["/confirm-email", () => tokens().then((m) => ({ default: m.Confirm }))],
    ["/email-change/undo", () => tokens().then((m) => ({ default: m.UndoEmail }))],
    ["/account/deletion/undo", () => tokens().then((m) => ({ default: m.UndoDeletion }))],
    ["/device", () => import("./pages/device")],
    ["/profile", () => import("./pages/profile")],
    ["/browse", () => import("./pages/browse")],
    ["/titles/:id", () => import("./pages/title")],
    ["/people/:id", () => import("./pages/person")],
    ["/collections/:slug", () => import("./pages/collection")],
    ["/notifications", () => import("./pages/notifications")],
    ["/friends", () => import("./pages/friends")],
    ["/playlists", () => import("./pages/playlists")],
    ["/playlists/:id", () => import("./pages/playlists").then((m) => ({ default: m.PlaylistPage }))],
    ["/users/:id", () => import("./pages/friends").then((m) => ({ default: m.UserPage }))],
    ["/watch/:titleId", () => import("./pages/watch")],
    ["/watch/:titleId/episodes/:episodeId", () => import("./pages/watch")],
    ["/messages", () => import("./pages/messages")],
    ["/messages/:userId", () => import("./pages/messages")],
    ["/party/join/:code", () => import("./pages/party")],
    ["/party/:partyId", () => import("./pages/party")],
    ["/security", () => import("./pages/security")],
    ["/family", () => import("./pages/family")],
    ["/admin", () => import("./pages/admin/index")],
    ["/admin/titles", () => import("./pages/admin/titles")],
    ["/admin/titles/new", () => import("./pages/admin/titles").then((m) => ({ default: m.TitleEditor }))],
    ["/admin/titles/:id", () => import("./pages/admin/titles").then((m) => ({ default: m.TitleEditor }))],
    ["/admin/people", () => import("./pages/admin/people")],
    ["/admin/people/new", () => import("./pages/admin/people").then((m) => ({ default: m.PersonEditor }))],
    ["/admin/people/:id", () => import("./pages/admin/people").then((m) => ({ default: m.PersonEditor }))],
    ["/admin/genres", () => import("./pages/admin/genres")],
    ["/admin/collections", () => import("./pages/admin/collections")],
    ["/admin/collections/new", () => import("./pages/admin/collections").then((m) => ({ default: m.CollectionEditor }))],
    ["/admin/collections/:ref", () => import("./pages/admin/collections").then((m) => ({ default: m.CollectionEditor }))],
    ["/admin/media", () => import("./pages/admin/media")],
    ["/admin/media/titles/:titleId", () => import("./pages/admin/media").then((m) => ({ default: m.ItemMedia }))],
    ["/admin/media/episodes/:episodeId", () => import("./pages/admin/media").then((m) => ({ default: m.ItemMedia }))],
  ],
  () => import("./pages/notfound"),
);

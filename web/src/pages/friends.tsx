// Friends: my friends with live presence, requests to me (accept, decline) and from me
// (cancel), arriving and changing live over the socket, and the users I blocked.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { useOnConnect, useServerEvent } from "../api/socket";
import { ReportButton } from "../components/report";
import { useLoad, useSession } from "../hooks";
import { Link } from "../router";
import { Loaded, Status, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type Req = Schemas["FriendRequestOut"];
type Friend = Schemas["FriendOut"];

export default function Friends(): JSX.Element {
  useTitle("Friends");
  return (
    <RequireSignIn>
      <Body />
    </RequireSignIn>
  );
}

export function who(u: { username: string; display_name?: string | null }): string {
  return u.display_name || u.username;
}

function Body(): JSX.Element {
  const { user } = useSession();
  const [friends, reloadFriends, setFriends] = useLoad(() => ok(api.GET("/api/v1/friends", { params: { query: { limit: 200 } } })).then((p) => p.items));
  const [incoming, reloadIncoming, setIncoming] = useLoad(() =>
    ok(api.GET("/api/v1/friends/requests", { params: { query: { direction: "incoming", limit: 100 } } })).then((p) => p.items),
  );
  const [outgoing, reloadOutgoing, setOutgoing] = useLoad(() =>
    ok(api.GET("/api/v1/friends/requests", { params: { query: { direction: "outgoing", limit: 100 } } })).then((p) => p.items),
  );
  const [blocks, reloadBlocks] = useLoad(() => ok(api.GET("/api/v1/blocks", { params: { query: { limit: 200 } } })).then((p) => p.items));
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const list = <T,>(l: { state: string; data?: T[] }) => (l.state === "ready" ? (l as { data: T[] }).data : []);

  // What changed while the socket was away (or before it connected) is read again.
  useOnConnect(() => {
    reloadFriends();
    reloadIncoming();
    reloadOutgoing();
  });
  // Live: a request to me, one of mine accepted, a friendship ended, presence.
  useServerEvent("friend:request", (r) => setIncoming([r as Req, ...list<Req>(incoming).filter((x) => x.id !== r.id)]), [incoming]);
  useServerEvent(
    "friend:accepted",
    (e) => {
      setOutgoing(list<Req>(outgoing).filter((x) => x.id !== e.request.id));
      reloadFriends();
    },
    [outgoing],
  );
  useServerEvent("friend:request_closed", () => {
    // A request to me withdrawn, or one of mine declined: read both lists again.
    void ok(api.GET("/api/v1/friends/requests", { params: { query: { direction: "incoming", limit: 100 } } })).then((p) => setIncoming(p.items));
    void ok(api.GET("/api/v1/friends/requests", { params: { query: { direction: "outgoing", limit: 100 } } })).then((p) => setOutgoing(p.items));
  });
  useServerEvent("friend:removed", () => reloadFriends());
  useServerEvent(
    "presence:update",
    (p) => setFriends(list<Friend>(friends).map((f) => (f.user.id === p.user_id ? { ...f, online: p.online } : f))),
    [friends],
  );

  const act = async (what: () => Promise<unknown>, said: string, after?: () => void) => {
    try {
      await what();
      setStatus({ ok: true, text: said });
      after?.();
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  const rid = (r: Req) => ({ params: { path: { request_id: r.id } } });
  return (
    <section>
      <h1>Friends</h1>
      {user && (
        <p class="muted">
          Share your profile so people can add you: <Link href={`/users/${user.id}`}>{location.origin}/users/{user.id}</Link>
        </p>
      )}
      <Status status={status} id="friends-status" />
      <section aria-labelledby="incoming-h">
        <h2 id="incoming-h">Requests to you</h2>
        <Loaded load={incoming}>
          {(items) =>
            items.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <ul class="people" id="incoming">
                {items.map((r) => (
                  <li key={r.id}>
                    <Link href={`/users/${r.from_user.id}`}>{who(r.from_user)}</Link>
                    <span class="buttons">
                      <button
                        type="button"
                        onClick={() =>
                          act(() => ok(api.POST("/api/v1/friends/requests/{request_id}/accept", rid(r))), `You and ${who(r.from_user)} are friends.`, () => {
                            setIncoming(items.filter((x) => x.id !== r.id));
                            reloadFriends();
                          })
                        }
                      >
                        Accept
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          act(() => ok(api.POST("/api/v1/friends/requests/{request_id}/decline", rid(r))), "Declined.", () => setIncoming(items.filter((x) => x.id !== r.id)))
                        }
                      >
                        Decline
                      </button>
                    </span>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>
      <section aria-labelledby="friends-h">
        <h2 id="friends-h">Your friends</h2>
        <Loaded load={friends}>
          {(items) =>
            items.length === 0 ? (
              <p class="muted">No friends yet.</p>
            ) : (
              <ul class="people" id="friends">
                {items.map((f) => (
                  <li key={f.user.id}>
                    <span>
                      <span class={f.online ? "dot on" : "dot"} aria-hidden="true" />
                      <Link href={`/users/${f.user.id}`}>{who(f.user)}</Link> <span class="muted">{f.online ? "online" : "offline"}</span>
                    </span>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() =>
                        confirm(`End your friendship with ${who(f.user)}?`) &&
                        act(() => ok(api.DELETE("/api/v1/friends/{user_id}", { params: { path: { user_id: f.user.id } } })), "Friendship ended.", reloadFriends)
                      }
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>
      <section aria-labelledby="outgoing-h">
        <h2 id="outgoing-h">Requests you sent</h2>
        <Loaded load={outgoing}>
          {(items) =>
            items.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <ul class="people" id="outgoing">
                {items.map((r) => (
                  <li key={r.id}>
                    <Link href={`/users/${r.to_user.id}`}>{who(r.to_user)}</Link>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() =>
                        act(() => ok(api.POST("/api/v1/friends/requests/{request_id}/cancel", rid(r))), "Request withdrawn.", () => setOutgoing(items.filter((x) => x.id !== r.id)))
                      }
                    >
                      Withdraw
                    </button>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>
      <section aria-labelledby="blocks-h">
        <h2 id="blocks-h">Blocked</h2>
        <Loaded load={blocks}>
          {(items) =>
            items.length === 0 ? (
              <p class="muted">Nobody.</p>
            ) : (
              <ul class="people">
                {items.map((b) => (
                  <li key={b.user.id}>
                    {who(b.user)}
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => act(() => ok(api.DELETE("/api/v1/blocks/{user_id}", { params: { path: { user_id: b.user.id } } })), "Unblocked.", reloadBlocks)}
                    >
                      Unblock
                    </button>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </section>
    </section>
  );
}

export function UserPage({ params }: { params: Record<string, string> }): JSX.Element {
  const { user: me } = useSession();
  const [user] = useLoad(() => ok(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: params.id } } })), [params.id]);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  useTitle(user.state === "ready" ? who(user.data) : "Profile");
  const act = async (what: () => Promise<unknown>, said: string) => {
    try {
      await what();
      setStatus({ ok: true, text: said });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <RequireSignIn>
      <Loaded load={user}>
        {(u) => (
          <section class="narrow">
            <h1>{who(u)}</h1>
            <p class="muted">@{u.username}</p>
            {me?.id === u.id ? (
              <p>
                This is you. <Link href="/profile">Edit your profile</Link>
              </p>
            ) : (
              <div class="buttons">
                <button type="button" onClick={() => act(() => ok(api.POST("/api/v1/friends/requests", { body: { user_id: u.id } })), "Friend request sent.")}>
                  Add friend
                </button>
                <button
                  type="button"
                  class="secondary"
                  onClick={() => confirm(`Block ${who(u)}?`) && act(() => ok(api.POST("/api/v1/blocks", { body: { user_id: u.id } })), "Blocked.")}
                >
                  Block
                </button>
                <ReportButton kind="user" targetId={u.id} what={who(u)} class="secondary" />
              </div>
            )}
            <Status status={status} id="user-status" />
          </section>
        )}
      </Loaded>
    </RequireSignIn>
  );
}

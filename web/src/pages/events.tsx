// The Socket.IO event catalogue at /docs/events (beside the HTTP API's /docs), read from the
// server's own AsyncAPI 3 document (/asyncapi.json, generated from realtime/registry.py like
// docs/events.md): what a client sends, with its payload and ack, and what the server sends.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { useLoad } from "../hooks";
import { Loaded, useTitle } from "../ui";

// JSON Schema as pydantic writes it: the parts shown here.
interface Schema {
  $ref?: string;
  type?: string | string[];
  title?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  default?: unknown;
}
interface Message {
  name: string;
  summary?: string;
  payload?: Schema;
  "x-ack"?: Schema;
}
interface AsyncApi {
  info: { title: string; description?: string };
  channels: Record<string, { address?: string; messages: Record<string, Message> }>;
  operations: Record<string, { action: "send" | "receive"; messages: { $ref: string }[]; summary?: string }>;
  components?: { schemas?: Record<string, Schema> };
}

interface Event {
  name: string;
  fromClient: boolean;
  message: Message;
}

async function load(): Promise<{ doc: AsyncApi; events: Event[] }> {
  const r = await fetch("/asyncapi.json");
  if (!r.ok) throw new Error(`The event catalogue could not be read (${r.status}).`);
  const doc = (await r.json()) as AsyncApi;
  const events: Event[] = [];
  for (const op of Object.values(doc.operations)) {
    for (const { $ref } of op.messages) {
      const [, , channel, , key] = $ref.split("/"); // #/channels/<channel>/messages/<key>
      const message = doc.channels[channel]?.messages[key];
      // "receive": the server receives it, so a client sends it.
      if (message) events.push({ name: message.name, fromClient: op.action === "receive", message });
    }
  }
  events.sort((a, b) => a.name.localeCompare(b.name));
  return { doc, events };
}

const refName = (ref: string) => ref.split("/").pop() ?? ref;

function typeText(s: Schema | undefined): string {
  if (!s) return "any";
  if (s.$ref) return refName(s.$ref);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeText).join(" | ");
  if (s.allOf?.length === 1) return typeText(s.allOf[0]);
  if (s.type === "array") return `list[${typeText(s.items)}]`;
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (s.type === "object" && s.title && s.properties) return s.title;
  return s.format ? `${s.type ?? "any"} (${s.format})` : (s.type ?? "any");
}

function bounds(s: Schema): string {
  const all = [s, ...(s.anyOf ?? [])];
  const parts: string[] = [];
  for (const x of all) {
    if (x.minimum !== undefined && x.maximum !== undefined) parts.push(`${x.minimum} to ${x.maximum}`);
    else if (x.minimum !== undefined) parts.push(`at least ${x.minimum}`);
    else if (x.maximum !== undefined) parts.push(`at most ${x.maximum}`);
    if (x.maxLength !== undefined) parts.push(`${x.minLength ?? 0} to ${x.maxLength} characters`);
    else if (x.minLength !== undefined) parts.push(`at least ${x.minLength} characters`);
    if (x.maxItems !== undefined) parts.push(`at most ${x.maxItems} items`);
  }
  if (s.default !== undefined && s.default !== null) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(", ");
}

function Fields({ schema, schemas }: { schema: Schema | undefined; schemas: Record<string, Schema> }): JSX.Element {
  const resolved = schema?.$ref ? schemas[refName(schema.$ref)] : schema;
  const props = Object.entries(resolved?.properties ?? {});
  if (!resolved || props.length === 0) return <p class="muted">{resolved ? typeText(resolved) : "nothing"}</p>;
  const required = new Set(resolved.required ?? []);
  return (
    <table class="fields">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Type</th>
          <th scope="col">Notes</th>
        </tr>
      </thead>
      <tbody>
        {props.map(([name, s]) => (
          <tr key={name}>
            <th scope="row">
              <code>{name}</code>
              {!required.has(name) && <span class="muted"> (optional)</span>}
            </th>
            <td>
              <code>{typeText(s)}</code>
            </td>
            <td>{[s.description, bounds(s)].filter(Boolean).join("; ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ackData(ack: Schema | undefined): Schema | undefined {
  // {oneOf: [{ok: true, data}, {ok: false, error}]}: the data of the good answer.
  return ack?.oneOf?.map((s) => s.properties?.data).find(Boolean);
}

function EventCard({ event, schemas }: { event: Event; schemas: Record<string, Schema> }): JSX.Element {
  const { message } = event;
  const ack = ackData(message["x-ack"]);
  return (
    <article class="event" id={`event-${event.name.replace(/[^a-z0-9]+/gi, "-")}`}>
      <h3>
        <code>{event.name}</code>
      </h3>
      {message.summary && <p>{message.summary}</p>}
      <h4>Payload</h4>
      <Fields schema={message.payload} schemas={schemas} />
      {event.fromClient && (
        <>
          <h4>Ack data</h4>
          {ack ? <Fields schema={ack} schemas={schemas} /> : <p class="muted">nothing</p>}
        </>
      )}
    </article>
  );
}

export default function Events(): JSX.Element {
  useTitle("Socket.IO events");
  const [catalogue] = useLoad(load);
  const [filter, setFilter] = useState("");
  return (
    <section class="events-doc">
      <h1>Socket.IO events</h1>
      <Loaded load={catalogue}>
        {({ doc, events }) => {
          const shown = events.filter((e) => e.name.includes(filter.trim().toLowerCase()));
          const schemas = doc.components?.schemas ?? {};
          return (
            <>
              <p>{doc.info.description}</p>
              <p>
                Also as AsyncAPI 3 (<a href="/asyncapi.json">/asyncapi.json</a>); the HTTP API is at <a href="/docs">/docs</a>. An
                ack is <code>{'{"ok": true, "data": …}'}</code> or <code>{'{"ok": false, "error": {"code", "message"}}'}</code>.
              </p>
              <label>
                Find an event{" "}
                <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="dm:, party:…" />
              </label>
              <h2 id="from-client">
                A client sends ({shown.filter((e) => e.fromClient).length})
              </h2>
              {shown
                .filter((e) => e.fromClient)
                .map((e) => (
                  <EventCard key={e.name} event={e} schemas={schemas} />
                ))}
              <h2 id="from-server">
                The server sends ({shown.filter((e) => !e.fromClient).length})
              </h2>
              {shown
                .filter((e) => !e.fromClient)
                .map((e) => (
                  <EventCard key={`s-${e.name}`} event={e} schemas={schemas} />
                ))}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

/**
 * WebSocketTransport's output side against a stand-in WebSocket whose
 * bufferedAmount the test controls: the overflow mark, writable(), the
 * close sequence (RFC 7395 §3.6) and in-order input with a pending handler.
 */
import assert from "node:assert/strict";
import { WebSocketTransport } from "../../src/stream/websocket/transport.ts";
import type { Frame } from "../../src/xml/parser.ts";

class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  binaryType = "blob";
  sent: string[] = [];
  closedWith: number | undefined;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
    queueMicrotask(() => this.onclose?.());
  }
  addEventListener(): void {}
  message(data: string): void {
    this.onmessage?.({ data });
  }
}

const LIMITS = { maxStanzaSize: 65536, maxStanzaDepth: 16, maxOutputBytes: 1000 };

function setup() {
  const socket = new FakeSocket();
  const transport = new WebSocketTransport(socket as unknown as WebSocket, {
    remoteAddress: "127.0.0.1",
    secure: true,
  });
  const frames: Frame[] = [];
  const events = { overflow: 0, closed: 0 };
  let hold: Promise<void> | undefined;
  transport.start({
    onFrame: (f) => {
      frames.push(f);
      return hold;
    },
    onError: () => {},
    onClose: () => events.closed++,
    onOverflow: () => events.overflow++,
  }, LIMITS);
  return { socket, transport, frames, events, setHold: (p?: Promise<void>) => hold = p };
}

Deno.test("output past maxOutputBytes fires onOverflow once; writable() waits for the drain", async () => {
  const { socket, transport, events } = setup();
  transport.send("<message><body>" + "x".repeat(600) + "</body></message>");
  assert.equal(events.overflow, 0);
  assert.match(socket.sent[0], /^<message xmlns='jabber:client'>/);
  transport.send("<message><body>" + "x".repeat(600) + "</body></message>");
  transport.send("<message/>");
  assert.equal(events.overflow, 1);
  assert.equal(transport.pending, socket.bufferedAmount);
  let writable = false;
  const waiting = transport.writable().then(() => writable = true);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(writable, false);
  socket.bufferedAmount = 100;
  await waiting;
  assert.equal(writable, true);
});

Deno.test("close: the error, <close/>, then the WebSocket after the peer's <close/>", async () => {
  const { socket, transport, events } = setup();
  transport.close("<stream:error><x xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  assert.match(socket.sent[0], /^<stream:error xmlns:stream=/);
  assert.equal(socket.sent[1], "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  assert.equal(socket.closedWith, undefined);
  socket.message("<message><body>late</body></message>");
  assert.equal(socket.closedWith, undefined);
  socket.message("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  assert.equal(socket.closedWith, 1000);
  await Promise.resolve();
  assert.equal(events.closed, 1);
  transport.close();
  assert.equal(socket.sent.length, 2);
});

Deno.test("input: frames in order; messages wait while a handler is pending", async () => {
  const { socket, frames, setHold } = setup();
  const gate = Promise.withResolvers<void>();
  socket.message(
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>",
  );
  setHold(gate.promise);
  socket.message("<iq id='1'/>");
  setHold(undefined);
  socket.message("<iq id='2'/>");
  socket.message("<iq id='3'/>");
  assert.deepEqual(frames.map((f) => f.kind), ["open", "stanza"]);
  gate.resolve();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    frames.map((f) => f.kind === "stanza" ? f.element.attrs.id : f.kind),
    ["open", "1", "2", "3"],
  );
});

Deno.test("input: text waiting behind a handler that never settles is bounded: policy-violation, then nothing", () => {
  const { socket, frames, setHold } = setup();
  socket.message(
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>",
  );
  setHold(new Promise<void>(() => {}));
  socket.message("<iq id='stuck'/>");
  setHold(undefined);
  // Few messages (far under the count bound), each under maxStanzaSize,
  // but together past what may wait: 4 stanzas' worth plus 256 KiB.
  const big = `<message><body>${"x".repeat(60_000)}</body></message>`;
  for (let i = 0; i < 20; i++) socket.message(big);
  const kinds = frames.map((f) => f.kind === "error" ? f.condition : f.kind);
  assert.deepEqual(kinds, ["open", "stanza", "policy-violation"]);
  socket.message("<iq id='after'/>");
  assert.equal(frames.length, 3);
});

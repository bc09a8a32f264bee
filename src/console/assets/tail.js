// tail.js — follows a stream over SSE with fetch() (EventSource cannot send an Authorization
// header). Resumes after a dropped connection from the last event id it saw (Last-Event-ID), or,
// before any record arrived, from the tail the server last reported, so nothing is lost or
// shown twice; pausing closes the connection and resuming catches up the same way.

/** Incremental event-stream parser (WHATWG rules): push(text) → completed events. */
export class SseParser {
  constructor() {
    this.buf = "";
  }

  push(text) {
    this.buf += text;
    const events = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buf);
      if (!m) break;
      const block = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = { event: "message", id: undefined, data: undefined };
      let any = false;
      for (const line of block.split(/\r?\n/)) {
        if (line === "" || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const name = i < 0 ? line : line.slice(0, i);
        let value = i < 0 ? "" : line.slice(i + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "data") ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
        else if (name === "event") ev.event = value;
        else if (name === "id") ev.id = value;
        else continue;
        any = true;
      }
      if (any) events.push(ev);
    }
    return events;
  }
}

/** The S2 read session of a stream: GET /v1/streams/{stream}/records (the root token). */
export function s2Source({ basin, stream, from, seq, token }) {
  return {
    label: `${basin} / ${stream}`,
    request(lastId, tailSeq) {
      const q = new URLSearchParams();
      if (!lastId) {
        let start = null;
        if (tailSeq !== null) start = tailSeq;
        else if (from === "start") start = 0;
        else if (from === "seq") start = seq;
        if (start !== null) {
          q.set("seq_num", String(start));
          q.set("clamp", "true");
        }
      }
      const h = { authorization: `Bearer ${token}`, accept: "text/event-stream", "s2-basin": basin };
      if (lastId) h["last-event-id"] = lastId;
      const qs = q.toString();
      return { url: `/v1/streams/${encodeURIComponent(stream)}/records${qs ? `?${qs}` : ""}`, headers: h };
    },
  };
}

/** A session channel of the realtime layer: GET /realtime/v1/sessions/{session}/{io}. */
export function sessionSource({ session, io, from, seq, token }) {
  return {
    label: `session ${session} .${io}`,
    request(lastId, tailSeq) {
      const h = { authorization: `Bearer ${token}`, accept: "text/event-stream", "timeout-seconds": "60" };
      // Last-Event-ID's leading digits are the last seq seen: resuming starts right after it.
      if (lastId) h["last-event-id"] = lastId;
      else if (tailSeq !== null) {
        if (tailSeq > 0) h["last-event-id"] = String(tailSeq - 1);
      } else if (from === "seq") {
        if (seq > 0) h["last-event-id"] = String(seq - 1);
      } else if (from !== "start") h["x-trigger-stream-start"] = "latest";
      return { url: `/realtime/v1/sessions/${encodeURIComponent(session)}/${io}`, headers: h };
    },
  };
}

const FATAL = new Set([400, 401, 403, 404, 405, 409, 410, 416, 422]);

/**
 * Follows `source`. Callbacks: onRecords(records), onStatus({state, detail}) with state one of
 * connecting, live, paused, reconnecting, failed, stopped.
 */
export class Tail {
  constructor(source, { onRecords, onStatus, maxDelayMs = 5000 }) {
    this.source = source;
    this.onRecords = onRecords;
    this.onStatus = onStatus;
    this.maxDelayMs = maxDelayMs;
    this.lastId = null;
    this.tailSeq = null;
    this.active = false;
    this.ctrl = null;
    this.attempt = 0;
    this.connections = 0;
  }

  status(state, detail = "") {
    this.state = state;
    this.onStatus?.({ state, detail });
  }

  start() {
    if (this.active) return;
    this.active = true;
    this.loop();
  }

  pause() {
    this.halt("paused");
  }

  stop() {
    this.halt("stopped");
  }

  halt(state) {
    if (!this.active) return;
    this.active = false;
    this.ctrl?.abort();
    this.status(state);
  }

  async loop() {
    while (this.active) {
      const ctrl = new AbortController();
      this.ctrl = ctrl;
      const { url, headers } = this.source.request(this.lastId, this.tailSeq);
      let ended = false;
      let why = "";
      this.status(this.attempt ? "reconnecting" : "connecting", this.attempt ? `attempt ${this.attempt + 1}` : "");
      try {
        const res = await fetch(url, { headers, signal: ctrl.signal, cache: "no-store", credentials: "omit" });
        if (!res.ok) {
          const text = await res.text();
          let msg = text;
          try {
            const j = JSON.parse(text);
            msg = j.message ?? j.error ?? text;
          } catch {
            /* plain text */
          }
          if (FATAL.has(res.status)) {
            this.active = false;
            this.status("failed", `HTTP ${res.status}: ${msg}`);
            return;
          }
          throw new Error(`HTTP ${res.status}: ${msg}`);
        }
        this.connections += 1;
        this.attempt = 0;
        this.status("live", this.lastId ? `resumed after #${Number.parseInt(this.lastId, 10)}` : "");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const ev of parser.push(value)) if (this.handle(ev)) ended = true;
          if (this.state === "failed") return;
        }
      } catch (e) {
        if (!this.active || ctrl.signal.aborted) return;
        why = e.message;
      }
      if (!this.active) return;
      if (ended) continue; // a clean end ([DONE], e.g. Timeout-Seconds passed): follow on at once
      // Dropped: back off 250 ms, 500 ms, … up to maxDelayMs, then reconnect from where we were.
      this.attempt += 1;
      const delay = Math.min(250 * 2 ** (this.attempt - 1), this.maxDelayMs);
      this.status("reconnecting", `connection lost${why ? ` (${why})` : ""}; retrying in ${Math.round(delay / 100) / 10} s`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, delay);
        ctrl.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Handles one event; true when it ends the response cleanly. */
  handle(ev) {
    if (ev.data === "[DONE]") return true;
    let data = null;
    try {
      data = ev.data ? JSON.parse(ev.data) : null;
    } catch {
      data = null;
    }
    if (ev.event === "error") {
      this.active = false;
      this.ctrl?.abort();
      this.status("failed", data?.message ?? data?.error ?? ev.data ?? "the stream ended with an error");
      return true;
    }
    if (data?.tail && typeof data.tail.seq_num === "number") this.tailSeq = data.tail.seq_num;
    if (ev.event === "batch" && Array.isArray(data?.records)) {
      if (ev.id) this.lastId = ev.id;
      if (data.records.length) {
        const last = data.records[data.records.length - 1].seq_num;
        this.tailSeq = Math.max(this.tailSeq ?? 0, last + 1);
        this.onRecords?.(data.records);
      }
    }
    return false;
  }
}

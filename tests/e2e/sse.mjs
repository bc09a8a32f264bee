// sse.mjs — the event-stream parser of the e2e suites.

/**
 * Incremental SSE parser (WHATWG event-stream rules): push(text) returns the events completed
 * by it, each { event, id, data }. Scanning resumes where the last one stopped, so large
 * batches do not make parsing quadratic.
 */
export class SseParser {
  buf = "";
  scanned = 0;
  push(text) {
    this.buf += text;
    const events = [];
    const re = /\r?\n\r?\n/g;
    re.lastIndex = Math.max(0, this.scanned - 3);
    let start = 0;
    let m;
    while ((m = re.exec(this.buf))) {
      const ev = parseBlock(this.buf.slice(start, m.index));
      if (ev) events.push(ev);
      start = m.index + m[0].length;
    }
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    return events;
  }
}

function parseBlock(block) {
  const ev = { event: undefined, id: undefined, data: undefined };
  let any = false;
  for (const line of block.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") ev.data = ev.data === undefined ? value : ev.data + "\n" + value;
    else if (field === "event") ev.event = value;
    else if (field === "id") ev.id = value;
    else continue;
    any = true;
  }
  return any ? ev : null;
}

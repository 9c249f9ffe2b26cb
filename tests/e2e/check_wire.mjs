// Reads an SSE byte stream with two independent parsers and prints what each saw, as
// JSON, for tests/encode_cli.rs to compare with what the input described.
//
//   node tests/e2e/check_wire.mjs WIRE_FILE
//
// 1. `eventsource-parser`: the bytes fed whole, and again in chunks of 1, 2, 3, 7 and
//    4096 bytes (decoded with a streaming TextDecoder, so a chunk may end inside a
//    UTF-8 sequence). Every callback is logged in order: events, retry updates,
//    comments and parse errors.
// 2. `eventsource` (a WHATWG EventSource client): the bytes served over HTTP on
//    127.0.0.1 (random port) in a few writes that split lines and characters. Every
//    MessageEvent it dispatches is logged. When the body ends the client reconnects
//    after the last `retry` time; that second request is answered 204 (which makes the
//    client stop for good) and its Last-Event-ID header is reported as raw bytes (hex).
//
// Output: {"parser": {"whole": LOG, "chunked": {"1": LOG, ...}},
//          "eventsource": {"events": [...], "requests": N, "reconnectLastEventIdHex": ...}}

import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {createParser} from 'eventsource-parser'
import {EventSource} from 'eventsource'

const TIMEOUT_MS = 30_000

const file = process.argv[2]
if (!file) {
  console.error('usage: node check_wire.mjs WIRE_FILE')
  process.exit(2)
}
const wire = readFileSync(file)

function parseInChunks(bytes, chunkSize) {
  const log = []
  const parser = createParser({
    onEvent: (e) => log.push({kind: 'event', event: e.event ?? null, id: e.id ?? null, data: e.data}),
    onRetry: (retry) => log.push({kind: 'retry', retry}),
    onComment: (comment) => log.push({kind: 'comment', comment}),
    onError: (err) => log.push({kind: 'error', message: String(err && err.message)}),
  })
  const decoder = new TextDecoder('utf-8', {fatal: true})
  for (let start = 0; start < bytes.length; start += chunkSize) {
    const end = Math.min(start + chunkSize, bytes.length)
    parser.feed(decoder.decode(bytes.subarray(start, end), {stream: end < bytes.length}))
  }
  return log
}

const parser = {whole: parseInChunks(wire, wire.length || 1), chunked: {}}
for (const size of [1, 2, 3, 7, 4096]) {
  parser.chunked[String(size)] = parseInChunks(wire, size)
}

function viaEventSource(bytes) {
  return new Promise((resolve, reject) => {
    const result = {events: [], requests: 0, reconnectLastEventIdHex: null, errors: []}
    const server = createServer((req, res) => {
      result.requests += 1
      if (result.requests === 1) {
        res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'})
        // Three writes at awkward places: inside the first line, inside a UTF-8
        // sequence if there is one, and in the middle.
        const cuts = [Math.min(3, bytes.length), Math.floor(bytes.length / 2)]
        const firstMultiByte = bytes.findIndex((b) => b >= 0x80)
        if (firstMultiByte >= 0) cuts.push(firstMultiByte + 1)
        cuts.sort((a, b) => a - b)
        let from = 0
        const pieces = []
        for (const cut of cuts) {
          if (cut > from) {
            pieces.push(bytes.subarray(from, cut))
            from = cut
          }
        }
        pieces.push(bytes.subarray(from))
        const writeNext = () => {
          const piece = pieces.shift()
          if (piece === undefined) {
            res.end()
            return
          }
          res.write(piece, () => setTimeout(writeNext, 5))
        }
        writeNext()
      } else {
        // rawHeaders values are latin1 strings of the raw bytes.
        const raw = req.rawHeaders
        for (let i = 0; i < raw.length; i += 2) {
          if (raw[i].toLowerCase() === 'last-event-id') {
            result.reconnectLastEventIdHex = Buffer.from(raw[i + 1], 'latin1').toString('hex')
          }
        }
        res.writeHead(204)
        res.end()
      }
    })
    const timer = setTimeout(() => {
      server.closeAllConnections()
      server.close()
      reject(new Error(`eventsource: no end after ${TIMEOUT_MS} ms: ${JSON.stringify(result).slice(0, 2000)}`))
    }, TIMEOUT_MS)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      const es = new EventSource(`http://127.0.0.1:${port}/events`)
      // Every event type goes through dispatchEvent, so this sees all of them.
      const dispatch = es.dispatchEvent.bind(es)
      es.dispatchEvent = (event) => {
        if (event instanceof MessageEvent) {
          result.events.push({type: event.type, data: event.data, lastEventId: event.lastEventId})
        }
        return dispatch(event)
      }
      es.addEventListener('error', (event) => {
        result.errors.push(String(event.message ?? ''))
        if (es.readyState === EventSource.CLOSED) {
          clearTimeout(timer)
          server.closeAllConnections()
          server.close()
          resolve(result)
        }
      })
    })
  })
}

try {
  const eventsource = await viaEventSource(wire)
  process.stdout.write(JSON.stringify({parser, eventsource}) + '\n', () => process.exit(0))
} catch (err) {
  console.error(String(err && err.stack ? err.stack : err))
  process.exit(1)
}

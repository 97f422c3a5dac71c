// Helpers of the offline sync API tests: what a device signs (docs/offline-sync.md).

/** RFC 8785 canonical JSON for integer-only documents: what docs/offline-sync.md asks devices. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Default sort compares UTF-16 code units, as RFC 8785 asks.
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bytes a device signs for a batch. */
export function batchSigningString(batch) {
  let text = `guichet-sync-batch-v1\n${batch.device_id}\n${batch.batch_id}\n${batch.events.length}\n`;
  for (const e of batch.events) text += `${e.seq}\n${e.kind}\n${e.at_ms}\n${canonicalJson(e.payload)}\n`;
  return text;
}

/**
 * A deep copy of JSON data (Docker's inspect records, answers). structuredClone came in Node 17
 * and the tool runs on Node 16.20 (RHEL 7's runtime); a JSON round trip is exact for JSON data.
 */
export function copyJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

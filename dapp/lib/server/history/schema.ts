/**
 * The history's tables (one schema for PGlite and PostgreSQL). Every row hangs off the block it came
 * from (`ON DELETE CASCADE`), so forgetting a block that left the chain forgets everything it brought.
 *
 * - `meta`: what the data belongs to (`scope`: genesis hash and contract addresses) and the schema's
 *   version; data of another deployment is dropped, not mixed in.
 * - `blocks`: each indexed block, contract events or not (its hash and parent's, its timestamp). The
 *   highest is the cursor the indexer resumes from.
 * - `events`: every event of the four contracts, decoded (name and arguments as JSON).
 * - `streams`, `tabs`: who a stream's creator is and whose a tab is, for the ledger's lookups.
 * - `ledger`: one row per movement of money, with who, which stream, how many seconds, how much, the
 *   fee (see LedgerKind).
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
  number BIGINT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  parent_hash TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  block_number BIGINT NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
  event_index INT NOT NULL,
  contract TEXT NOT NULL,
  name TEXT NOT NULL,
  args JSONB NOT NULL,
  PRIMARY KEY (block_number, event_index)
);
CREATE INDEX IF NOT EXISTS events_name ON events (name, block_number);
CREATE TABLE IF NOT EXISTS streams (
  stream_id BIGINT PRIMARY KEY,
  creator TEXT NOT NULL,
  title TEXT NOT NULL,
  block_number BIGINT NOT NULL REFERENCES blocks (number) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS streams_creator ON streams (creator);
CREATE TABLE IF NOT EXISTS tabs (
  tab_id BIGINT PRIMARY KEY,
  viewer TEXT NOT NULL,
  relay TEXT NOT NULL,
  block_number BIGINT NOT NULL REFERENCES blocks (number) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ledger (
  block_number BIGINT NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
  event_index INT NOT NULL,
  part INT NOT NULL,
  at_ms BIGINT NOT NULL,
  kind TEXT NOT NULL,
  account TEXT,
  stream_id BIGINT,
  creator TEXT,
  tab_id BIGINT,
  seconds BIGINT NOT NULL DEFAULT 0,
  amount NUMERIC(39, 0) NOT NULL,
  fee NUMERIC(39, 0) NOT NULL DEFAULT 0,
  detail JSONB,
  PRIMARY KEY (block_number, event_index, part)
);
CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account, block_number);
CREATE INDEX IF NOT EXISTS ledger_creator ON ledger (creator, at_ms);
CREATE INDEX IF NOT EXISTS ledger_stream ON ledger (stream_id, at_ms);
`;

/** Tables in the order they can be emptied (children first). */
export const TABLES = ['ledger', 'events', 'streams', 'tabs', 'blocks', 'meta'] as const;

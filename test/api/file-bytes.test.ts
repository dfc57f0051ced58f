import test from 'ava';
import { FileBytes } from '../../api/middleware/file-bytes';

// An uploaded file is kept in one buffer as it streams in, never beyond the limit (api/middleware/upload.ts).

const chunks = (sizes: number[]) => sizes.map((n, i) => Buffer.alloc(n, i + 1));

test('a file of known length costs one buffer of that length, holding exactly the bytes sent', (t) => {
  const parts = chunks([65_536, 65_536, 1_000]);
  const bytes = new FileBytes(10 * 1024 * 1024, 132_072);
  for (const part of parts) t.true(bytes.push(part));
  t.is(bytes.capacity, 132_072, 'allocated once, to the length the request allows');
  t.deepEqual(bytes.content(), Buffer.concat(parts));
});

test('a file never holds more than the limit: the chunk that would pass it is refused', (t) => {
  const bytes = new FileBytes(100_000, null);
  t.true(bytes.push(Buffer.alloc(60_000, 1)));
  t.false(bytes.push(Buffer.alloc(60_000, 2)));
  t.true(bytes.capacity <= 100_000, `capacity ${bytes.capacity}`);
  t.is(bytes.content().length, 60_000);
  bytes.drop();
  t.is(bytes.capacity, 0, 'a refused file is forgotten');
});

test('a body of unknown length grows the buffer by doubling from 64 KiB, up to the limit', (t) => {
  const limit = 1_000_000;
  const bytes = new FileBytes(limit, null);
  t.true(bytes.push(Buffer.alloc(10, 7)));
  t.is(bytes.capacity, 64 * 1024, 'a small file stays small');
  const parts = chunks(Array.from({ length: 15 }, () => 65_536));
  for (const part of parts) t.true(bytes.push(part));
  t.is(bytes.capacity, limit, 'doubling stops at the limit');
  t.deepEqual(bytes.content(), Buffer.concat([Buffer.alloc(10, 7), ...parts]));
});

test('a length hint that was too small is corrected by growing, never by losing bytes', (t) => {
  const bytes = new FileBytes(1_000_000, 1_000);
  const parts = chunks([800, 800, 800]);
  for (const part of parts) t.true(bytes.push(part));
  t.deepEqual(bytes.content(), Buffer.concat(parts));
});

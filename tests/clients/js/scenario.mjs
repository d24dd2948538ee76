// The client suite's scenario with the AWS SDK for JavaScript v3 and its defaults: stream
// bodies (a file stream is sent aws-chunked, with no Content-Length), lib-storage's
// Upload (multipart from 5 MiB), a sync-style loop, copy, conditional writes, presigning.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  CopyObjectCommand, DeleteObjectsCommand, DeleteBucketCommand, paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const work = process.env.WORK;
const Bucket = process.env.BUCKET;
const s3 = new S3Client({
  endpoint: process.env.GODRIVE_ENDPOINT,
  region: 'us-east-1',
  forcePathStyle: true,
});

const step = (s) => console.log(`-- ${s}`);
const sha = (buf) => createHash('sha256').update(buf).digest('hex');
const md5 = (buf) => createHash('md5').update(buf).digest('hex');
function same(a, b, label) {
  if (sha(a) !== sha(b)) throw new Error(`FAIL: ${label}: SHA-256 differs`);
  console.log(`ok: ${label}`);
}
async function read(Key, extra = {}) {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return Buffer.from(await got.Body.transformToByteArray());
}
async function listAll(Prefix) {
  const out = new Map();
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 50 }, { Bucket, Prefix })) {
    for (const o of page.Contents ?? []) out.set(o.Key, { size: o.Size, etag: o.ETag.replaceAll('"', '') });
  }
  return out;
}

const small = fs.readFileSync(`${work}/small.txt`);
const big = fs.readFileSync(`${work}/big.bin`);

step('make bucket');
await s3.send(new CreateBucketCommand({ Bucket }));

step('upload: string, buffer, file stream, stream with a length');
await s3.send(new PutObjectCommand({ Bucket, Key: 'string.txt', Body: 'a string body' }));
await s3.send(new PutObjectCommand({ Bucket, Key: 'small.txt', Body: small }));
await s3.send(new PutObjectCommand({ Bucket, Key: 'stream.txt', Body: fs.createReadStream(`${work}/small.txt`) }));
await s3.send(new PutObjectCommand({
  Bucket, Key: 'sized.txt', ContentLength: small.length, Body: Readable.from([small.subarray(0, 5), small.subarray(5)]),
}));
same(await read('string.txt'), Buffer.from('a string body'), 'string body');
for (const k of ['small.txt', 'stream.txt', 'sized.txt']) same(await read(k), small, `${k} round trip`);
const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'stream.txt' }));
if (head.ContentLength !== small.length) throw new Error(`FAIL: HEAD length ${head.ContentLength}`);
if (head.ContentEncoding) throw new Error(`FAIL: stored Content-Encoding ${head.ContentEncoding}`);
console.log('ok: no aws-chunked Content-Encoding stored');

step('lib-storage Upload: 40 MiB file stream (multipart) and a small stream');
await new Upload({ client: s3, params: { Bucket, Key: 'big.bin', Body: fs.createReadStream(`${work}/big.bin`) } }).done();
await new Upload({ client: s3, params: { Bucket, Key: 'up-small.txt', Body: Readable.from([small]) } }).done();
same(await read('big.bin'), big, '40 MiB multipart round trip');
same(await read('up-small.txt'), small, 'small Upload round trip');

step('ranged download');
same(await read('big.bin', { Range: 'bytes=1000-1999' }), big.subarray(1000, 2000), 'range 1000-1999');

step('server-side copy');
await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/big.bin', CopySource: `${Bucket}/big.bin` }));
same(await read('copy/big.bin'), big, 'copy');

step('conditional writes');
await s3.send(new PutObjectCommand({ Bucket, Key: 'lock', Body: 'mine', IfNoneMatch: '*' }));
try {
  await s3.send(new PutObjectCommand({ Bucket, Key: 'lock', Body: 'theirs', IfNoneMatch: '*' }));
  throw new Error('FAIL: a second If-None-Match: * write succeeded');
} catch (e) {
  if (e.$metadata?.httpStatusCode !== 412) throw e;
}
same(await read('lock'), Buffer.from('mine'), 'If-None-Match: * refused the second writer');

step('sync 200 files (streams, as sync tools send them)');
async function toSync() {
  const remote = await listAll('tree/');
  const pending = [];
  for (const name of fs.readdirSync(`${work}/tree`).sort()) {
    const data = fs.readFileSync(`${work}/tree/${name}`);
    const r = remote.get(`tree/${name}`);
    if (!r || r.size !== data.length || r.etag !== md5(data)) pending.push(name);
  }
  return pending;
}
const first = await toSync();
if (first.length !== 200) throw new Error(`FAIL: ${first.length} to sync`);
for (let i = 0; i < first.length; i += 16) {
  await Promise.all(first.slice(i, i + 16).map((name) => s3.send(new PutObjectCommand({
    Bucket, Key: `tree/${name}`, Body: fs.createReadStream(path.join(work, 'tree', name)),
  }))));
}
const again = await toSync();
if (again.length !== 0) throw new Error(`FAIL: ${again.length} still to sync`);
console.log('ok: nothing transferred');

step('presign');
const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'small.txt' }), { expiresIn: 600 });
const resp = await fetch(url);
if (!resp.ok) throw new Error(`FAIL: presigned GET ${resp.status}`);
same(Buffer.from(await resp.arrayBuffer()), small, 'presigned GET');

step('delete everything');
const all = [...(await listAll(undefined)).keys()];
for (let i = 0; i < all.length; i += 1000) {
  await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: all.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
}
if ((await listAll(undefined)).size !== 0) throw new Error('FAIL: objects left');
step('remove bucket');
await s3.send(new DeleteBucketCommand({ Bucket }));

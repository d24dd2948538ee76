"""The scenario with boto3 (defaults: transfer manager multipart from 8 MiB, botocore's
default checksums). Sync is done the way sync tools do it: compare size and ETag."""
import hashlib
import os
import subprocess
import sys
import tempfile

import boto3

work, bucket = os.environ["WORK"], os.environ["BUCKET"]
s3 = boto3.client("s3", endpoint_url=os.environ["GODRIVE_ENDPOINT"], region_name="us-east-1")
out = tempfile.mkdtemp(dir=work)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def same(a, b, label):
    if sha(a) != sha(b):
        sys.exit(f"FAIL: {label}: SHA-256 differs")
    print(f"ok: {label}")


def step(s):
    print(f"-- {s}", flush=True)


step("make bucket")
s3.create_bucket(Bucket=bucket)
step("upload")
s3.upload_file(f"{work}/small.txt", bucket, "small.txt")
s3.upload_file(f"{work}/big.bin", bucket, "big.bin")
step("list")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
assert {"small.txt", "big.bin"} <= set(keys), keys
step("download")
s3.download_file(bucket, "small.txt", f"{out}/small.txt")
s3.download_file(bucket, "big.bin", f"{out}/big.bin")
same(f"{work}/small.txt", f"{out}/small.txt", "small round trip")
same(f"{work}/big.bin", f"{out}/big.bin", "40 MiB round trip")
step("ranged download")
part = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=1000-1999")["Body"].read()
with open(f"{work}/big.bin", "rb") as f:
    f.seek(1000)
    assert part == f.read(1000), "range differs"
print("ok: range 1000-1999")
step("server-side copy")
s3.copy({"Bucket": bucket, "Key": "big.bin"}, bucket, "copy/big.bin")
s3.download_file(bucket, "copy/big.bin", f"{out}/copy.bin")
same(f"{work}/big.bin", f"{out}/copy.bin", "copy")


def to_sync():
    """Local files whose size or MD5 differ from the listed object (what sync tools upload)."""
    remote = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tree/"):
        for o in page.get("Contents", []):
            remote[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
    pending = []
    for name in sorted(os.listdir(f"{work}/tree")):
        path = f"{work}/tree/{name}"
        with open(path, "rb") as f:
            data = f.read()
        if remote.get(f"tree/{name}") != (len(data), hashlib.md5(data).hexdigest()):
            pending.append(name)
    return pending


step("sync 200 files")
first = to_sync()
assert len(first) == 200, len(first)
for name in first:
    s3.upload_file(f"{work}/tree/{name}", bucket, f"tree/{name}")
step("sync again")
again = to_sync()
assert again == [], again
print("ok: nothing transferred")
step("presign")
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "small.txt"}, ExpiresIn=600)
subprocess.run(["curl", "-sf", url, "-o", f"{out}/presigned"], check=True)
same(f"{work}/small.txt", f"{out}/presigned", "presigned GET")
step("delete everything")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
    if objs:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
step("remove bucket")
s3.delete_bucket(Bucket=bucket)

#!/usr/bin/env python3
"""Stress of the issue-15 kind: for SECONDS, create a file, set 4,096
attributes on it (16-byte values), delete it; print the whole iterations
and the names set. Usage: xattr-stress.py DIR SECONDS."""
import os, sys, time
d = sys.argv[1]; secs = float(sys.argv[2])
end = time.time() + secs; it = 0; names = 0
while time.time() < end:
    p = os.path.join(d, f"stress-{it}")
    open(p, "w").close()
    for i in range(4096):
        if time.time() >= end: break
        os.setxattr(p, f"user.stress.{i:04d}", b"v" * 16)
        names += 1
    else:
        it += 1
    os.unlink(p)
print(f'{{"dir":"{d}","seconds":{secs},"iterations":{it},"names_set":{names}}}')

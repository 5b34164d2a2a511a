# Seed step 4: embeddings and search on the kernel mount (vexctl import,
# search; identical results to vexfs-fuse on the same image). Hook: the
# kernel side of the vector interface replaces this body.
skip "vector interface not in the kernel module yet"

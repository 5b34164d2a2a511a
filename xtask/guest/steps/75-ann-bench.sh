# Seed step 5: the ANN benchmark through the kernel ioctls beside
# vexfs-fuse in the same guest. Hook, as step 4.
skip "vector interface not in the kernel module yet"

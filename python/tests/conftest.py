"""A real VexFS mount for the tests: an image made with
target/release/mkfs-vexfs, mounted with target/release/vexfs-fuse -f in
the background, unmounted afterwards. Tests that need it are skipped when
the binaries, /dev/fuse or fusermount3 are missing. VEXFS_BIN_DIR
overrides where the binaries are looked for."""

import os
import shutil
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN_DIR = os.environ.get("VEXFS_BIN_DIR", os.path.join(ROOT, "target", "release"))


def _missing():
    for b in ("mkfs-vexfs", "vexfs-fuse"):
        if not os.access(os.path.join(BIN_DIR, b), os.X_OK):
            return f"{os.path.join(BIN_DIR, b)} not built (cargo build --release)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (apt-get install fuse3)"
    return None


def _mounted(mnt):
    real = os.path.realpath(mnt).replace(" ", "\\040")
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == real and " - fuse.vexfs " in line for line in f)


class Mount:
    def __init__(self, base):
        self.image = os.path.join(base, "image")
        self.path = os.path.join(base, "mnt")
        os.mkdir(self.path)
        subprocess.run([os.path.join(BIN_DIR, "mkfs-vexfs"), "-q", self.image, "256M"], check=True)
        self.proc = subprocess.Popen([os.path.join(BIN_DIR, "vexfs-fuse"), "-f", self.image, self.path], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not _mounted(self.path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"vexfs-fuse exited with {self.proc.returncode}: {self.proc.stderr.read().decode(errors='replace')}")
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("the mount did not appear within 20 s")
            time.sleep(0.02)

    def unmount(self):
        for _ in range(100):
            r = subprocess.run(["fusermount3", "-u", self.path], stderr=subprocess.DEVNULL)
            if r.returncode == 0 or not _mounted(self.path):
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", self.path])
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture(scope="session")
def mount(tmp_path_factory):
    why = _missing()
    if why:
        pytest.skip(f"no VexFS mount: {why}")
    m = Mount(str(tmp_path_factory.mktemp("vexfs")))
    yield m
    rc = m.unmount()
    assert rc == 0, f"vexfs-fuse exited with {rc}"


@pytest.fixture
def fresh_dir(mount, request):
    """A new directory on the mount for one test."""
    d = os.path.join(mount.path, request.node.name.replace("[", "_").replace("]", ""))
    os.mkdir(d)
    return d

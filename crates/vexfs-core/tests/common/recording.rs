//! Block devices for crash and fault tests.
//!
//! [`RecordingDevice`] logs every write and flush in order, like
//! dm-log-writes, so a test can rebuild the device as any crash would have
//! left it. [`FaultyDevice`] fails reads or writes after a countdown.

use std::sync::{Arc, Mutex};
use vexfs_core::{BlockDevice, DeviceError, MemDevice};

/// One logged device operation.
#[derive(Debug, Clone)]
pub enum Event {
    Write { offset: u64, data: Vec<u8> },
    Flush,
}

/// A memory device that records what reaches it. The log is shared so a
/// test keeps it after the filesystem has consumed the device.
#[derive(Debug, Clone)]
pub struct RecordingDevice {
    pub dev: MemDevice,
    pub log: Arc<Mutex<Vec<Event>>>,
}

impl RecordingDevice {
    pub fn new(base: MemDevice) -> Self {
        Self {
            dev: base,
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl BlockDevice for RecordingDevice {
    fn size(&self) -> u64 {
        self.dev.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.dev.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        self.dev.write_at(offset, buf)?;
        self.log.lock().unwrap().push(Event::Write {
            offset,
            data: buf.to_vec(),
        });
        Ok(())
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.log.lock().unwrap().push(Event::Flush);
        Ok(())
    }
}

/// Apply `data` at `offset`, or only its first `torn` bytes.
pub fn apply(img: &mut [u8], offset: u64, data: &[u8], torn: Option<usize>) {
    let n = torn.unwrap_or(data.len()).min(data.len());
    let at = offset as usize;
    img[at..at + n].copy_from_slice(&data[..n]);
}

/// Which operations of a [`FaultyDevice`] fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Reads,
    Writes,
    Flushes,
}

/// A memory device whose reads, writes or flushes fail with EIO once a
/// countdown of successful ones runs out, until [`FaultyDevice::heal`].
/// The memory is shared, so a test keeps it when the filesystem is gone.
#[derive(Debug, Clone)]
pub struct FaultyDevice {
    pub mem: Arc<Mutex<MemDevice>>,
    pub kind: FaultKind,
    countdown: Arc<Mutex<Option<u64>>>,
    failures: Arc<Mutex<u64>>,
}

impl FaultyDevice {
    pub fn new(dev: MemDevice, kind: FaultKind, after: u64) -> Self {
        Self {
            mem: Arc::new(Mutex::new(dev)),
            kind,
            countdown: Arc::new(Mutex::new(Some(after))),
            failures: Arc::new(Mutex::new(0)),
        }
    }

    /// Stop failing.
    pub fn heal(&self) {
        *self.countdown.lock().unwrap() = None;
    }

    /// Countdown left (`u64::MAX` minus the operations let through when
    /// created with `u64::MAX`); `None` once healed.
    pub fn remaining(&self) -> u64 {
        self.countdown.lock().unwrap().unwrap_or(0)
    }

    /// Operations failed so far.
    pub fn failures(&self) -> u64 {
        *self.failures.lock().unwrap()
    }

    pub fn contents(&self) -> MemDevice {
        self.mem.lock().unwrap().clone()
    }

    fn tick(&self, kind: FaultKind) -> Result<(), DeviceError> {
        if kind != self.kind {
            return Ok(());
        }
        let mut c = self.countdown.lock().unwrap();
        match c.as_mut() {
            Some(0) => {
                *self.failures.lock().unwrap() += 1;
                Err(DeviceError::Io(5))
            }
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl BlockDevice for FaultyDevice {
    fn size(&self) -> u64 {
        self.mem.lock().unwrap().size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.tick(FaultKind::Reads)?;
        self.mem.lock().unwrap().read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        self.tick(FaultKind::Writes)?;
        self.mem.lock().unwrap().write_at(offset, buf)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.tick(FaultKind::Flushes)?;
        Ok(())
    }
}

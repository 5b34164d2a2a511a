//! A minimal stderr logger for fuser's diagnostics (`-d` shows requests).

struct Stderr;

static LOGGER: Stderr = Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("vexfs-fuse [{}] {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

pub fn init(debug: bool) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if debug { log::LevelFilter::Debug } else { log::LevelFilter::Error });
    }
}

use socketserver::{StreamRequest, handle, server};
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sends each line back upper-cased, and counts the lines.
#[server(
    transport = "tcp",
    concurrency = "threading",
    backlog = 128,
    timeout = "30s",
    nodelay = true
)]
struct Upper {
    lines: AtomicU64,
}

impl Upper {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let mut line = String::new();
        while req.rfile().read_line(&mut line)? > 0 {
            req.wfile().write_all(line.to_uppercase().as_bytes())?;
            self.lines.fetch_add(1, Ordering::Relaxed);
            line.clear();
        }
        Ok(())
    }
}

// `Upper { lines: AtomicU64::new(0) }.bind("127.0.0.1:9999")?.serve_forever()`
// serves it; `.builder()` instead of `.bind(..)` overrides keys at run time:
// `upper.builder().backlog(1024).bind("127.0.0.1:9999")?`.

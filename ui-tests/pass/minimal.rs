//! The DESIGN.md example: a unit struct, the default keys, one handler.

use socketserver::{StreamRequest, handle, server};
use std::io::{self, BufRead, Write};

#[server(transport = "tcp", concurrency = "threading")]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let mut line = String::new();
        while req.rfile().read_line(&mut line)? > 0 {
            req.wfile().write_all(line.to_uppercase().as_bytes())?;
            line.clear();
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let server = Upper.bind("127.0.0.1:0")?;
    assert_ne!(server.server_address().port(), 0);
    Ok(())
}

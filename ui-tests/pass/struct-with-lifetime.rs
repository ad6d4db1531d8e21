//! A struct with a lifetime parameter serves when what it borrows is
//! `'static`.

use socketserver::{StreamRequest, handle, server};
use std::io::{self, Write};

#[server(concurrency = "sync")]
struct Banner<'a> {
    text: &'a str,
}

impl Banner<'_> {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(self.text.as_bytes())
    }
}

fn main() -> io::Result<()> {
    let server = Banner { text: "hello" }.bind("127.0.0.1:0")?;
    assert_eq!(server.service().text, "hello");
    Ok(())
}

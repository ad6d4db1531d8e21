use socketserver::{StreamRequest, handle, server};
use std::io::{self, Read, Write};

#[server]
struct Echo;

impl Echo {
    /// Sends every byte back. Any name will do: the attribute makes it the
    /// handler. An error returned (here by `?`) goes to the `handle_error`
    /// hook, with the client's address, and the server goes on.
    #[handle]
    fn echo(&self, req: &mut StreamRequest) -> io::Result<()> {
        let mut buf = [0; 4096];
        loop {
            let n = req.rfile().read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            req.wfile().write_all(&buf[..n])?;
        }
    }
}

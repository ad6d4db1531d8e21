//! A server struct that borrows a local: the server's state must live as long
//! as the program (`'static`), because handlers run on other threads.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo<'a> {
    name: &'a str,
}

impl Echo<'_> {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        let _ = self.name;
        Ok(())
    }
}

fn main() {
    let name = String::from("local");
    let _server = Echo { name: &name }.bind("127.0.0.1:0");
}

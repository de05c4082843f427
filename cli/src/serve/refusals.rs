//! Answers for requests the HTTP layer refuses while reading them.
//!
//! hyper answers a request it cannot read (headers past `max_buf_size` or `max_headers`,
//! bad syntax) itself, with a bare status and no body, then closes the connection; no
//! handler runs. [`Io`] sits between hyper and the socket and replaces that automatic
//! answer with the sidecar's own: the JSON body with a code (401 `token_malformed` for
//! headers past the limits, as a token over the size limit is everywhere else; 400
//! `bad_request` for the rest), an access-log line and a count in
//! `veritoken_requests_total`. Our handlers never answer 400, 414 or 431, so these status
//! lines can only be hyper's.

use super::app::App;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The status lines hyper writes for a parse error, with the status each stands for.
const AUTOMATIC: [(&[u8], u16); 3] = [
    (b"HTTP/1.1 431 Request Header Fields Too Large\r\n", 431),
    (b"HTTP/1.1 414 URI Too Long\r\n", 414),
    (b"HTTP/1.1 400 Bad Request\r\n", 400),
];

/// A connection's socket, with hyper's automatic answers replaced.
pub struct Io {
    stream: TcpStream,
    app: Arc<App>,
    /// The replacement being written, and how much of it is out.
    replacing: Option<(Vec<u8>, usize)>,
}

impl Io {
    pub fn new(stream: TcpStream, app: Arc<App>) -> Io {
        Io {
            stream,
            app,
            replacing: None,
        }
    }
}

/// Where hyper's automatic answer starts in `buf` (after any answers written before it on
/// a pipelined connection), and its status.
fn automatic_answer(buf: &[u8]) -> Option<(usize, u16)> {
    AUTOMATIC.iter().find_map(|(line, status)| {
        buf.windows(line.len())
            .position(|w| w == *line)
            .map(|at| (at, *status))
    })
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            match automatic_answer(buf) {
                None => return Pin::new(&mut this.stream).poll_write(cx, buf),
                Some((at, status)) => {
                    // Whatever precedes it (answers to earlier pipelined requests) as is.
                    let mut bytes = buf[..at].to_vec();
                    bytes.extend(this.app.http_refusal(status));
                    this.replacing = Some((bytes, 0));
                }
            }
        }
        // hyper calls again with the same bytes until they are all taken: the whole of its
        // automatic answer is taken once the replacement is out.
        let (bytes, written) = this.replacing.as_mut().expect("set above");
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut this.stream).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hyper_answers_after_pipelined_ones() {
        assert_eq!(
            automatic_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
            Some((0, 400))
        );
        let both = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 431 Request Header Fields Too Large\r\n\r\n";
        assert_eq!(automatic_answer(both), Some((40, 431)));
        assert_eq!(automatic_answer(b"HTTP/1.1 401 Unauthorized\r\n"), None);
    }
}

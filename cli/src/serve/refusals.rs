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
    /// Where the bytes written so far end (see [`Boundary`]).
    boundary: Boundary,
    /// The replacement being written, and how much of it is out.
    replacing: Option<(Vec<u8>, usize)>,
    /// The replacement is out: hyper closes the connection after its automatic answer, so
    /// a later write is refused rather than dropped.
    replaced: bool,
}

impl Io {
    pub fn new(stream: TcpStream, app: Arc<App>) -> Io {
        Io {
            stream,
            app,
            boundary: Boundary::default(),
            replacing: None,
            replaced: false,
        }
    }
}

/// Whether the bytes written so far end inside a response head, past its status line.
///
/// A status line can only start where no head is open: at the start of the connection, or
/// after a head's blank line (in or after its body; the sidecar's bodies never hold CRLF).
/// Text that a header value carries (a claim, the client's `X-Request-Id`) always follows
/// the CRLF of its head's status line, so it is never taken for hyper's answer.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Boundary {
    /// The last four bytes written, the latest in the low byte.
    last: u32,
    in_head: bool,
}

impl Boundary {
    fn after(mut self, bytes: &[u8]) -> Boundary {
        for &b in bytes {
            self.last = (self.last << 8) | u32::from(b);
            if self.last & 0xffff == 0x0d0a {
                // CRLF: a blank line ends a head; any other ends a line within one.
                self.in_head = self.last != 0x0d0a_0d0a;
            }
        }
        self
    }
}

/// Where hyper's automatic answer starts in `buf` (after any answers written before it on
/// a pipelined connection), and its status: a status line of [`AUTOMATIC`] that starts
/// where no head is open (the connection's bytes so far end at `before`), whose head is
/// the rest of `buf` (hyper closes the connection after it; it has no body).
fn automatic_answer(before: Boundary, buf: &[u8]) -> Option<(usize, u16)> {
    AUTOMATIC.iter().find_map(|(line, status)| {
        let at = buf.windows(line.len()).position(|w| w == *line)?;
        let head_ends = buf[at..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| at + i + 4);
        let starts_a_response = !before.after(&buf[..at]).in_head;
        (starts_a_response && head_ends == Some(buf.len())).then_some((at, *status))
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
        if this.replaced {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection ended with a refusal",
            )));
        }
        if this.replacing.is_none() {
            match automatic_answer(this.boundary, buf) {
                None => {
                    let n = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
                    this.boundary = this.boundary.after(&buf[..n]);
                    return Poll::Ready(Ok(n));
                }
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
        this.replacing = None;
        this.replaced = true;
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

    const BARE_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 12:00:00 GMT\r\n\r\n";

    fn find(buf: &[u8]) -> Option<(usize, u16)> {
        automatic_answer(Boundary::default(), buf)
    }

    #[test]
    fn finds_hyper_answers_after_pipelined_ones() {
        assert_eq!(find(BARE_400), Some((0, 400)));
        let mut both = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec();
        both.extend_from_slice(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
        );
        assert_eq!(find(&both), Some((40, 431)));
        let mut after_empty = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec();
        after_empty.extend_from_slice(BARE_400);
        assert_eq!(find(&after_empty), Some((38, 400)));
        assert_eq!(find(b"HTTP/1.1 401 Unauthorized\r\n\r\n"), None);
    }

    /// A header value that ends in a status line's text (a claim copied into a header, the
    /// client's X-Request-Id) is not hyper's answer, even when the rest of the head looks
    /// like one and even when a partial write split the head right before it.
    #[test]
    fn a_status_line_inside_a_header_value_is_not_an_answer() {
        let head = b"HTTP/1.1 200 OK\r\nx-auth-name: HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(find(head), None);
        let at = head.windows(8).position(|w| w == b"HTTP/1.1").unwrap();
        let second = head[17..]
            .windows(8)
            .position(|w| w == b"HTTP/1.1")
            .unwrap()
            + 17;
        assert_ne!(at, second);
        let before = Boundary::default().after(&head[..second]);
        assert!(before.in_head);
        assert_eq!(automatic_answer(before, &head[second..]), None);
        // After a whole response, the next one starts fresh.
        let done = Boundary::default().after(head);
        assert!(!done.in_head);
        assert_eq!(automatic_answer(done, BARE_400), Some((0, 400)));
    }

    /// hyper's answer is the last thing on the connection: a status line with anything
    /// after its head is some other text.
    #[test]
    fn an_answer_must_end_the_write() {
        let mut more = BARE_400.to_vec();
        more.extend_from_slice(b"{}");
        assert_eq!(find(&more), None);
        assert_eq!(
            find(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"),
            None
        );
    }
}

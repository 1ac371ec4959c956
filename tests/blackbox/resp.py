"""Minimal exact RESP2 client for black-box tests.

redis-py rewrites error replies (drops the "ERR " prefix, maps some texts to
exception classes), so the tests that assert Redis's exact bytes use this
client instead. call() returns bytes for bulk strings, int for integers, None
for nil, list for arrays, Status(str) for simple strings and Error(str) for
error replies (the full text after '-', e.g. "ERR syntax error").
"""
import socket
import time


class Status(str):
    """A +simple string reply."""


class Error(str):
    """A -error reply; the value is the full text, e.g. 'ERR syntax error'."""


class ConnectionClosed(Exception):
    pass


def encode(*args):
    """Encode one command as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, (int, float)):
            b = repr(a).encode()
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n" % len(b))
        out.append(b)
        out.append(b"\r\n")
    return b"".join(out)


class Conn:
    """One blocking TCP connection with a reply parser over its own buffer."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        assert self.buf[self.pos + n:self.pos + n + 2] == b"\r\n", "bulk not CRLF-terminated"
        self.pos += n + 2
        return data

    def read_reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Status(rest.decode())
        if t == b"-":
            return Error(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise AssertionError("bad reply type byte in %r" % line)

    def call(self, *args):
        self.send(encode(*args))
        return self.read_reply()

    def raw(self, *args):
        """Send one command whose reply is one line (+, -, :); return its exact bytes."""
        self.send(encode(*args))
        line = self._line()
        if line[:1] in (b"+", b"-", b":"):
            return line + b"\r\n"
        raise AssertionError("raw() is for single-line replies, got %r" % line[:20])

    def err(self, *args):
        """Send a command that must fail; return the error text."""
        reply = self.call(*args)
        assert isinstance(reply, Error), "expected an error reply to %r, got %r" % (args, reply)
        return str(reply)

    def read_all(self, timeout=1.0):
        """Everything the server sends until it closes or stays quiet for `timeout` s.
        Returns (bytes, closed)."""
        data = self.buf[self.pos:]
        self.buf, self.pos = b"", 0
        saved = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        closed = False
        try:
            while True:
                try:
                    chunk = self.sock.recv(1 << 16)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    closed = True
                    break
                data += chunk
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(saved)
        return data, closed

    def wait_closed(self, timeout=5.0):
        """True if the server closes this connection within `timeout` s; returns
        the bytes received meanwhile as the second element."""
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline:
            chunk, closed = self.read_all(timeout=min(0.5, max(0.05, deadline - time.monotonic())))
            data += chunk
            if closed:
                return True, data
        return False, data

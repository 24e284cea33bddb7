"""What the Redis cost scripts beside this share: a private redis-server and a
minimal RESP client that counts the reply bytes it reads.

    with private_redis() as r:   # a redis-server on a free port, nothing on disk
        r.cmd("PING"); r.pipe([["XADD", ...], ...]); r.cpu(); r.usec("evalsha")
"""

import contextlib
import socket
import subprocess
import tempfile
import time


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")
        self.received = 0

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def read(self):
        line = self.file.readline()
        self.received += len(line)
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            self.received += n + 2
            return data[:-2]
        if kind == b"*":
            return [self.read() for _ in range(max(int(rest), 0))]
        raise RuntimeError(f"unexpected reply {line!r}")

    def pipe(self, commands):
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self.read() for _ in commands]

    def cmd(self, *args):
        return self.pipe([args])[0]

    def cpu(self):
        """Redis's own CPU seconds so far (INFO cpu, user + sys)."""
        info = self.cmd("INFO", "cpu").decode()
        return sum(float(l.split(":")[1]) for l in info.split("\r\n")
                   if l.startswith(("used_cpu_sys:", "used_cpu_user:")))

    def usec(self, command):
        """Microseconds Redis spent in `command` since the last CONFIG RESETSTAT."""
        info = self.cmd("INFO", "commandstats").decode()
        for line in info.split("\r\n"):
            if line.startswith(f"cmdstat_{command}:"):
                return int(line.split("usec=")[1].split(",")[0])
        return 0


@contextlib.contextmanager
def private_redis():
    """A redis-server of its own on a free port, no persistence; removed after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", data], stdout=subprocess.DEVNULL)
    try:
        for attempt in range(100):
            try:
                connection = Redis(port)
                break
            except OSError:
                if attempt == 99:
                    raise
                time.sleep(0.05)
        yield connection
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", data])

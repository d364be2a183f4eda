"""A throw-away Dovecot IMAP server for the tests: own port, own mail folder under /tmp, one user.

Started with `-F` (foreground) from a configuration written here, so nothing of the machine's
own Dovecot setup (/etc/dovecot) is read. Plaintext log-in is allowed on 127.0.0.1 only; the
user lives in a passwd-file. As root, mail is stored under the `dovecot` system user (Dovecot
refuses mail access as root); otherwise as the current user.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINARY = "/usr/sbin/dovecot"
USER = "replies@linghang.test"
PASSWORD = "replies-secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def available() -> bool:
    """True when Debian's dovecot-imapd is installed."""
    return os.access(BINARY, os.X_OK)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot process with one mailbox user (USER / PASSWORD)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="linghang-dovecot-"))
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def _owner(self) -> tuple[int, int, str]:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("dovecot")
            return entry.pw_uid, entry.pw_gid, ""
        name = getpass.getuser()
        return os.getuid(), os.getgid(), f"default_login_user = {name}\ndefault_internal_user = {name}"

    def start(self) -> None:
        """Write the configuration, start Dovecot and wait until it answers."""
        uid, gid, users = self._owner()
        self.root.chmod(0o755)
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir()
        for folder in ("mail", "home"):
            os.chown(self.root / folder, uid, gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid, users=users))
        self.process = subprocess.Popen(
            [BINARY, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self.process.stderr.read().decode()} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        """Dovecot's log so far."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the process and remove its folder."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self):
        """A logged-in IMAPClient on the mailbox."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def empty(self) -> None:
        """Delete every folder but INBOX and every mail in INBOX (between tests)."""
        with self.client() as client:
            for _flags, _separator, name in client.list_folders():
                if name.upper() != "INBOX":
                    client.delete_folder(name)
            client.select_folder("INBOX")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()

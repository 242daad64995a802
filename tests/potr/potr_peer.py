#!/usr/bin/python3
"""A python-potr (OTR version 2) peer speaking a subset of offrecord's engine protocol.

offrecord's interoperability tests (crates/offrecord/tests/potr_interop.rs) run this script
next to `offrecord rpc` and relay the `wire` events between the two, so offrecord is tested
against a second, independent OTR implementation (python-potr speaks only protocol version 2).

It reads JSON lines on stdin and writes JSON lines on stdout, with exactly the shapes of the
engine protocol (/work/shared/engine-protocol.md):

  commands: send, receive, start, finish, smp (optional "question"), smp_respond, smp_abort,
            fingerprint, trust, distrust, tick (ignored), max_message_size
  events:   wire, message (with "encrypted"), state (plaintext/encrypted/finished, with
            "fingerprint" in libotr's human form and "trusted" once a session key exists),
            smp (request/question/success/failure/aborted), error, fingerprint, done (id echoed)

Usage:
  /usr/bin/python3 potr_peer.py --account NAME --key FILE
        [--max-message-size N] [--policy manual|opportunistic|always|FLAG,FLAG,...] [--debug]

--key FILE holds the DSA private key in potr's own serialization; it is generated on first use
(that takes a moment), so later runs with the same FILE are fast and keep the fingerprint.

Use Debian's /usr/bin/python3 (python3-potr and python3-pycryptodome are Debian packages; a
pyenv python earlier in PATH does not see them). Install them with scripts/install-test-deps.sh.

Debian's python3-potr 1.0.2 was ported from PyCrypto to pycryptodome ("Cryptodome") only as far
as the imports: it still calls PyCrypto APIs that pycryptodome does not have. The shims in
`install_crypto_shims` below replace exactly those calls (see the comments there); everything
else (the AKE, data messages, SMP, fragmentation) is potr's own code, unchanged.
"""

import argparse
import json
import logging
import os
import sys
import traceback

try:
    import potr
    from potr import compatcrypto, crypt, proto
    from potr.compatcrypto import pycrypto as potr_pycrypto
    from potr.utils import bytes_to_long, long_to_bytes
    from Cryptodome.Cipher import AES
    from Cryptodome.PublicKey import DSA
except ImportError as e:  # pragma: no cover - reported to the test harness
    sys.stderr.write(
        "potr_peer: cannot import python-potr / pycryptodome ({0}); "
        "run scripts/install-test-deps.sh and use /usr/bin/python3\n".format(e)
    )
    sys.exit(3)


# ---------------------------------------------------------------------------------------------
# pycryptodome shims for Debian's python3-potr
# ---------------------------------------------------------------------------------------------

class _CtrCipher(object):
    """AES-CTR for one potr `Counter`, the way PyCrypto's `counter=` callable worked.

    potr builds a fresh cipher for every message: AES.new(key, MODE_CTR, counter=Counter(..))
    where the counter block is the 8-byte prefix (the OTR "top half" counter) followed by an
    8-byte block number starting at `counter.val` (0). pycryptodome rejects a plain callable
    as `counter=`; the same key stream is nonce=prefix, initial_value=val. As PyCrypto called
    the counter once per block, we advance `counter.val` by the number of blocks used.
    """

    def __init__(self, key, counter):
        self._counter = counter
        self._cipher = AES.new(
            key,
            AES.MODE_CTR,
            nonce=counter.byteprefix(),
            initial_value=counter.val,
        )

    def _advance(self, data):
        self._counter.val += (len(data) + 15) // 16

    def encrypt(self, data):
        self._advance(data)
        return self._cipher.encrypt(data)

    def decrypt(self, data):
        self._advance(data)
        return self._cipher.decrypt(data)


def _aesctr(key, counter=0):
    """Replacement for potr.compatcrypto.pycrypto.AESCTR (same signature)."""
    if isinstance(counter, int):
        counter = potr_pycrypto.Counter(counter)
    if not isinstance(counter, potr_pycrypto.Counter):
        raise TypeError("AESCTR needs a potr Counter or an int")
    return _CtrCipher(key, counter)


def _dsa_generate(cls):
    """Replacement for DSAKey.generate: potr reads `privkey.key.y` etc. (PyCrypto's _DSAobj
    had a `.key` attribute); pycryptodome's DsaKey exposes the numbers directly."""
    k = DSA.generate(1024)
    return cls((int(k.y), int(k.g), int(k.p), int(k.q), int(k.x)), private=True)


def _dsa_sign(self, data):
    """Replacement for DSAKey.sign: PyCrypto's `key.sign(M, K)` took the message as an
    integer (bytes converted big-endian) and used it unhashed, i.e. effectively M mod q, the
    way libotr signs the 32-byte MAC. pycryptodome's public `sign` raises NotImplementedError
    ("use DSS"); DSS would hash or truncate, which is not what OTR v2 does. `_sign(m, k)` is
    the raw operation: r = (g^k mod p) mod q, s = k^-1 (m + x r) mod q."""
    k = crypt.randrange(2, self.priv.q)
    r, s = self.priv._sign(bytes_to_long(data), k)
    return long_to_bytes(int(r), 20) + long_to_bytes(int(s), 20)


def _dsa_verify(self, data, sig):
    """Replacement for DSAKey.verify (same reason as _dsa_sign): raw DSA verification of the
    integer value of `data`."""
    if len(sig) != 40:
        return False
    r, s = bytes_to_long(sig[:20]), bytes_to_long(sig[20:])
    return bool(self.pub._verify(bytes_to_long(data), (r, s)))


def install_crypto_shims():
    """Patch potr's crypto glue in place. `potr.crypt` imported AESCTR by name, so it is
    patched there too."""
    potr_pycrypto.AESCTR = _aesctr
    compatcrypto.AESCTR = _aesctr
    crypt.AESCTR = _aesctr
    potr_pycrypto.DSAKey.generate = classmethod(_dsa_generate)
    potr_pycrypto.DSAKey.sign = _dsa_sign
    potr_pycrypto.DSAKey.verify = _dsa_verify


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def emit(event):
    """Write one event as a JSON line."""
    sys.stdout.write(json.dumps(event) + "\n")


def emit_error(peer, code, message):
    emit({"event": "error", "peer": peer, "code": code, "message": message})


def text_of(data):
    """potr hands out bytes; the protocol carries UTF-8 strings."""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


# ---------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------

# libotr's presets expressed with potr's policy flags (potr knows ALLOW_V1, ALLOW_V2,
# REQUIRE_ENCRYPTION, SEND_TAG, WHITESPACE_START_AKE, ERROR_START_AKE; it has no v3).
POLICIES = {
    "manual": {"ALLOW_V2"},
    "opportunistic": {"ALLOW_V2", "SEND_TAG", "WHITESPACE_START_AKE", "ERROR_START_AKE"},
    "always": {
        "ALLOW_V2", "SEND_TAG", "WHITESPACE_START_AKE", "ERROR_START_AKE",
        "REQUIRE_ENCRYPTION",
    },
}


def parse_policy(value):
    if value in POLICIES:
        return set(POLICIES[value])
    return {flag.strip().upper() for flag in value.split(",") if flag.strip()}


# ---------------------------------------------------------------------------------------------
# potr Account and Context
# ---------------------------------------------------------------------------------------------

STATE_NAMES = {
    potr.context.STATE_PLAINTEXT: "plaintext",
    potr.context.STATE_ENCRYPTED: "encrypted",
    potr.context.STATE_FINISHED: "finished",
}


class PeerContext(potr.context.Context):
    """One conversation. potr calls inject() for what goes on the wire and setState() when
    the message state changes; both turn into protocol events here."""

    def __init__(self, account, peername):
        super(PeerContext, self).__init__(account, peername)
        self.mms = None  # per-peer max_message_size override (None: the account's)

    def getPolicy(self, key):
        return key in self.user.flags

    def inject(self, msg, appdata=None):
        emit({"event": "wire", "peer": self.peer, "data": text_of(msg)})

    def maxMessageSize(self, appdata=None):
        # potr fragments every OTR-encoded message longer than this (0: never); each
        # fragment is "?OTR,k,n,<piece>," (potr's v2 fragment format) of at most this size.
        if self.mms is not None:
            return self.mms
        return self.user.maxMessageSize

    def setState(self, newstate):
        old = self.state
        super(PeerContext, self).setState(newstate)
        # The protocol writes a state event on every change and after every completed key
        # exchange (potr calls setState(ENCRYPTED) from goEncrypted, also on a refresh).
        if newstate != old or newstate == potr.context.STATE_ENCRYPTED:
            self.emit_state()

    def emit_state(self):
        event = {"event": "state", "peer": self.peer, "state": STATE_NAMES[self.state]}
        key = self.crypto.theirPubkey
        if key is not None:
            event["fingerprint"] = str(key)  # potr's human_hash: 5 groups of 8 uppercase hex
            event["trusted"] = bool(self.getCurrentTrust())
        emit(event)


class PeerAccount(potr.context.Account):
    contextclass = PeerContext

    def __init__(self, name, keyfile, max_message_size, flags):
        super(PeerAccount, self).__init__(name, "irc", max_message_size)
        self.keyfile = keyfile
        self.flags = flags
        # potr's default query has its explanation after a newline; an IRC line cannot hold
        # that, so keep the explanation on the same line (the protocol allows that).
        self.defaultQuery = (
            "?OTRv{versions}? python-potr would like to start an Off-the-Record private "
            "conversation."
        )

    def loadPrivkey(self):
        if not os.path.exists(self.keyfile):
            return None
        with open(self.keyfile, "rb") as f:
            key, _rest = compatcrypto.PK.parsePrivateKey(f.read())
        return key

    def savePrivkey(self):
        tmp = self.keyfile + ".tmp"
        with open(tmp, "wb") as f:
            f.write(self.privkey.serializePrivateKey())
        os.replace(tmp, self.keyfile)

    def saveTrusts(self):
        pass  # trust lives only as long as the process


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

def smp_events(ctx, tlvs):
    """potr has no SMP callbacks: derive the protocol's smp events from the TLVs a data
    message carried and from the SMP handler's progress after potr processed them."""
    smp = ctx.crypto.smp
    for tlv in tlvs:
        if not isinstance(tlv, proto.SMPTLV):
            continue
        prog = smp.prog if smp is not None else crypt.SMPPROG_CHEATED
        if isinstance(tlv, proto.SMPABORTTLV):
            result = {"result": "aborted"}
        elif prog == crypt.SMPPROG_CHEATED:
            # potr rejected the TLV (bad proof or unexpected step) and sent an abort.
            result = {"result": "aborted"}
        elif isinstance(tlv, proto.SMP1QTLV):
            result = {"result": "question", "question": text_of(tlv.msg)}
        elif isinstance(tlv, proto.SMP1TLV):
            result = {"result": "request"}
        elif isinstance(tlv, (proto.SMP3TLV, proto.SMP4TLV)):
            # SMP3 ends it for the responder, SMP4 for the initiator. (On a mismatch potr
            # sends an abort instead of libotr's final message.)
            result = {"result": "success" if prog == crypt.SMPPROG_SUCCEEDED else "failure"}
        else:
            continue  # SMP2: the initiator answered with SMP3, nothing to tell the user
        event = {"event": "smp", "peer": ctx.peer}
        event.update(result)
        emit(event)
        if result["result"] == "success":
            ctx.emit_state()  # potr marked the fingerprint trusted ('smp')


def cmd_receive(account, peer, data):
    ctx = account.getContext(peer)
    try:
        plaintext, tlvs = ctx.receiveMessage(data.encode("utf-8"))
    except potr.context.UnencryptedMessage as e:
        emit({"event": "message", "peer": peer, "text": text_of(e.args[0]), "encrypted": False})
        emit_error(peer, "unencrypted", "The message was received unencrypted.")
        return
    except potr.context.NotOTRMessage as e:
        emit({"event": "message", "peer": peer, "text": text_of(e.args[0]), "encrypted": False})
        return
    except potr.context.NotEncryptedError:
        emit_error(peer, "unreadable", "An encrypted message arrived without a private session.")
        return
    except potr.context.ErrorReceived as e:
        emit_error(peer, "peer_error", "The peer sent an OTR error: " + text_of(e.args[0].error))
        return
    except crypt.InvalidParameterError:
        emit_error(peer, "unreadable", "potr could not verify or decrypt the message.")
        logging.exception("potr_peer: InvalidParameterError on %r", data)
        return
    except proto.UnknownTLV as e:
        emit_error(peer, "malformed", "potr: unknown TLV: {0!r}".format(e))
        return
    except Exception as e:  # anything potr raised: report it with the traceback
        logging.exception("potr_peer: receive failed on %r", data)
        emit_error(peer, "malformed", "potr raised {0}: {1}\n{2}".format(
            type(e).__name__, e, traceback.format_exc()))
        return
    if plaintext:
        emit({"event": "message", "peer": peer, "text": text_of(plaintext), "encrypted": True})
    smp_events(ctx, tlvs)


def cmd_send(account, peer, text):
    ctx = account.getContext(peer)
    was_plain = ctx.state == potr.context.STATE_PLAINTEXT
    try:
        out = ctx.sendMessage(potr.context.FRAGMENT_SEND_ALL, text.encode("utf-8"))
    except potr.context.NotEncryptedError:
        emit_error(peer, "finished", "The peer ended the private conversation; "
                   "the message was not sent.")
        return
    if out is not None:
        # potr returns (rather than injects) plaintext, tagged plaintext and queries.
        emit({"event": "wire", "peer": peer, "data": text_of(out)})
    if was_plain and ctx.getPolicy("REQUIRE_ENCRYPTION"):
        emit_error(peer, "encryption_required",
                   "Encryption is required; a key exchange was started instead.")


def cmd_start(account, peer):
    ctx = account.getContext(peer)
    # An explicit query typed by the user makes potr send its default query (?OTRv2?).
    out = ctx.sendMessage(potr.context.FRAGMENT_SEND_ALL, b"?OTRv2?")
    if out is not None:
        emit({"event": "wire", "peer": peer, "data": text_of(out)})


def cmd_finish(account, peer):
    ctx = account.getContext(peer)
    if ctx.state == potr.context.STATE_ENCRYPTED:
        ctx.disconnect()  # injects a data message with the disconnect TLV
    elif ctx.state == potr.context.STATE_FINISHED:
        ctx.setState(potr.context.STATE_PLAINTEXT)


def cmd_smp(account, peer, secret, question, respond):
    ctx = account.getContext(peer)
    if ctx.state != potr.context.STATE_ENCRYPTED:
        emit_error(peer, "no_session", "SMP needs a private session.")
        return
    if respond:
        smp = ctx.crypto.smp
        if smp is None or smp.state != 0:  # potr: state 0 = got SMP1, waiting for a secret
            emit_error(peer, "no_smp_request", "No SMP request is pending.")
            return
        ctx.smpGotSecret(secret.encode("utf-8"))
    else:
        q = question.encode("utf-8") if question is not None else None
        ctx.smpInit(secret.encode("utf-8"), question=q)


def handle(account, cmd):
    name = cmd.get("cmd")
    peer = cmd.get("peer")
    needs_peer = name not in ("fingerprint", "tick")
    if needs_peer and not isinstance(peer, str):
        emit_error(None, "bad_request", "missing field: peer")
        return
    if name == "send":
        cmd_send(account, peer, cmd["text"])
    elif name == "receive":
        cmd_receive(account, peer, cmd["data"])
    elif name == "start":
        cmd_start(account, peer)
    elif name == "finish":
        cmd_finish(account, peer)
    elif name == "smp":
        cmd_smp(account, peer, cmd["secret"], cmd.get("question"), respond=False)
    elif name == "smp_respond":
        cmd_smp(account, peer, cmd["secret"], None, respond=True)
    elif name == "smp_abort":
        ctx = account.getContext(peer)
        if ctx.state == potr.context.STATE_ENCRYPTED:
            ctx.smpAbort()
            emit({"event": "smp", "peer": peer, "result": "aborted"})
    elif name == "fingerprint":
        emit({"event": "fingerprint", "fingerprint": str(account.getPrivkey())})
    elif name in ("trust", "distrust"):
        ctx = account.getContext(peer)
        if ctx.getCurrentKey() is None:
            emit_error(peer, "no_session", "No session key for this peer.")
            return
        ctx.setCurrentTrust("verified" if name == "trust" else "")
        ctx.emit_state()
    elif name == "tick":
        pass  # potr has no timers to drive
    elif name == "max_message_size":
        account.getContext(peer).mms = int(cmd["size"])
    else:
        emit_error(peer if isinstance(peer, str) else None, "bad_request",
                   "unknown command: {0!r}".format(name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--account", required=True)
    parser.add_argument("--key", required=True, help="DSA private key file (made if missing)")
    parser.add_argument("--max-message-size", type=int, default=0)
    parser.add_argument("--policy", default="opportunistic")
    parser.add_argument("--debug", action="store_true", help="potr's debug log on stderr")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.debug else logging.WARNING,
                        format="potr_peer[%(name)s] %(levelname)s %(message)s")
    install_crypto_shims()

    account = PeerAccount(args.account, args.key, args.max_message_size,
                          parse_policy(args.policy))
    account.getPrivkey()  # load, or generate and save, now rather than mid-AKE

    sys.stdin.reconfigure(encoding="utf-8")
    sys.stdout.reconfigure(encoding="utf-8")
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd_id = None
        try:
            cmd = json.loads(line)
            if not isinstance(cmd, dict):
                raise ValueError("a command is a JSON object")
            cmd_id = cmd.get("id")
            handle(account, cmd)
        except (ValueError, KeyError, TypeError) as e:
            emit_error(None, "bad_request", "bad command: {0}: {1}".format(type(e).__name__, e))
        except Exception as e:  # never die on one command; tell the harness
            logging.exception("potr_peer: command failed: %s", line.strip())
            emit_error(None, "internal", "potr_peer: {0}: {1}".format(type(e).__name__, e))
        emit({"event": "done", "id": cmd_id})
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""The espeak-ng worker process: synthesises each request in a forked child, so each is pure.

espeak-ng keeps synthesis state in C statics (pitch-flutter phase, echo buffer, noise generator)
that carry from one utterance to the next and that neither ``espeak_Terminate`` nor a new
``espeak_Initialize`` resets: the same call twice in one process gives slightly different
samples. This worker initialises the engine once and never synthesises itself; every request is
synthesised by a child forked from that pristine state, so an utterance is a pure function of its
parameters, whatever was synthesised before. The worker imports the standard library and
``espeakng_loader`` only (no torch, no threads), which keeps ``fork`` safe.

Run by :class:`polydit.audio.espeak.Espeak` as a script (not ``-m``, so the package's
``__init__`` is not imported). Protocol on stdin/stdout, one frame per message:

* at start the worker writes a frame whose payload is the engine's sample rate as int32;
* requests are JSON lines ``{"text", "voice", "rate", "pitch", "range", "seed"}``;
* each reply is ``status`` (int32: OK, UNKNOWN_VOICE, SYNTH_FAILED, BAD_REQUEST, CHILD_DIED) and ``size`` (int32, bytes) then the payload:
  little-endian int16 samples when ok, else a UTF-8 error message.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys

import espeakng_loader

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
CHARS_UTF8 = 1
PARAM_RATE, PARAM_PITCH, PARAM_RANGE = 1, 3, 4
HEADER = struct.Struct("<ii")
OK, UNKNOWN_VOICE, SYNTH_FAILED, BAD_REQUEST, CHILD_DIED = 0, 1, 2, 3, 4

SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def load_engine() -> tuple[ctypes.CDLL, int]:
    """The bundled libespeak-ng with argument types declared, initialised; (lib, sample rate)."""
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    data_path = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
    if rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed with {rate} (data path {data_path!r})")
    return lib, rate


def synthesize(lib: ctypes.CDLL, request: dict) -> tuple[int, bytes]:
    """(status, payload) of one request; runs in a forked child."""
    chunks: list[bytes] = []

    @SynthCallback
    def collect(wav, num_samples, _events):  # type: ignore[no-untyped-def]
        if wav and num_samples > 0:
            chunks.append(ctypes.string_at(wav, 2 * num_samples))
        return 0

    lib.espeak_SetSynthCallback(collect)
    voice = str(request["voice"])
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return UNKNOWN_VOICE, f"espeak-ng has no voice {voice!r}".encode()
    lib.espeak_ng_SetRandSeed(int(request.get("seed", 0)))
    lib.espeak_SetParameter(PARAM_RATE, int(request["rate"]), 0)
    lib.espeak_SetParameter(PARAM_PITCH, int(request["pitch"]), 0)
    lib.espeak_SetParameter(PARAM_RANGE, int(request.get("range", 50)), 0)
    text = str(request["text"]).encode()
    status = lib.espeak_Synth(text, len(text) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
    if status != 0:
        return (
            SYNTH_FAILED,
            f"espeak_Synth failed with status {status} for {request['text']!r}".encode(),
        )
    lib.espeak_Synchronize()
    return OK, b"".join(chunks)


def write_frame(fd: int, status: int, payload: bytes) -> None:
    data = HEADER.pack(status, len(payload)) + payload
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_all(fd: int) -> bytes:
    parts = []
    while block := os.read(fd, 1 << 16):
        parts.append(block)
    return b"".join(parts)


def serve(lib: ctypes.CDLL, sample_rate: int) -> None:
    out = sys.stdout.fileno()
    write_frame(out, OK, struct.pack("<i", sample_rate))
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: synthesise from the pristine engine state, reply, vanish
            os.close(read_end)
            try:
                status, payload = synthesize(lib, json.loads(line))
            except Exception as e:  # a malformed request: report, never hang the parent
                status, payload = BAD_REQUEST, f"bad espeak request {line[:200]!r}: {e}".encode()
            write_frame(write_end, status, payload)
            os._exit(0)
        os.close(write_end)
        reply = read_all(read_end)
        os.close(read_end)
        _, code = os.waitpid(pid, 0)
        if len(reply) < HEADER.size or code != 0:
            write_frame(out, CHILD_DIED, f"espeak-ng child died (wait status {code})".encode())
        else:
            status, _ = HEADER.unpack_from(reply)
            write_frame(out, status, reply[HEADER.size :])


if __name__ == "__main__":
    serve(*load_engine())

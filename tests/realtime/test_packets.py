"""realtime.engine.Packet: python-socketio's packets, encoded faster, read the same."""

from __future__ import annotations

import json
from typing import Any

import pytest
from socketio import packet as sio

from realtime.engine import Packet

ACK = {"ok": True, "data": {"id": 7, "text": 'héllo \u2028 "q" </b>', "tags": [], "none": None}}


def _value(encoded: str, head: str) -> Any:
    assert encoded.startswith(head), encoded
    return json.loads(encoded[len(head) :])


@pytest.mark.parametrize(
    ("kind", "namespace", "id", "data", "head"),
    [
        (sio.ACK, "/", 17, [ACK], "317"),
        (sio.EVENT, "/", None, ["dm:message", {"n": 1.5, 1: "a key that is no string"}], "2"),
        (sio.EVENT, "/chat", 3, ["x", 1], "2/chat,3"),
        (sio.ACK, "/", 2, [], "32"),
        (sio.CONNECT, "/", None, {"sid": "abc"}, "0"),
    ],
)
def test_json_packets_say_what_python_socketio_says(
    kind: int, namespace: str, id: int | None, data: Any, head: str
) -> None:
    ours, theirs = Packet(kind, data, namespace, id), sio.Packet(kind, data, namespace, id)
    assert ours.packet_type == theirs.packet_type == kind
    assert _value(ours.encode(), head) == _value(theirs.encode(), head)


def test_binary_and_unencodable_data_take_python_socketios_way() -> None:
    data = ["upload", {"parts": [1, {"blob": b"\x00\x01"}]}]
    ours, theirs = Packet(sio.EVENT, data), sio.Packet(sio.EVENT, data)
    assert ours.packet_type == theirs.packet_type == sio.BINARY_EVENT
    assert ours.encode() == theirs.encode()
    assert Packet.data_is_binary([{"a": [[bytearray(b"x")]]}])
    in_a_tuple = [{"a": [["x", 1, None, (b"bytes",)]]}]  # neither looks into tuples
    assert not Packet.data_is_binary(in_a_tuple) and not sio.Packet.data_is_binary(in_a_tuple)
    huge = ["n", 2**70]  # over 64 bits: orjson refuses it, the json module does not
    assert Packet(sio.EVENT, huge).encode() == sio.Packet(sio.EVENT, huge).encode()
    assert Packet(sio.CONNECT).encode() == "0"


def test_reading_is_python_engineios_with_its_limit_on_integers() -> None:
    read = Packet(encoded_packet='21["dm:send",{"n":12,"s":"\\ud800"}]')
    assert (read.packet_type, read.id, read.data) == (2, 1, ["dm:send", {"n": 12, "s": "\ud800"}])
    with pytest.raises(ValueError, match="too large"):
        Packet(encoded_packet='2["n",' + "9" * 101 + "]")

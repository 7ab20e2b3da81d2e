"""The ingest service's MQTT session: one paho client driven by a network thread of our own.

paho's callbacks only hand each message on, frozen, to ``on_message``. The thread uses paho's
documented external-loop API (``loop_read``, ``loop_write``, ``loop_misc``, ``reconnect``), so
connecting and reconnecting with backoff are done here. Why not ``loop_forever``: measured
here, with it every ``ack()``/``publish()`` from another thread wakes the network loop
through a socket pair, and each wake reads at most one packet; the network thread is the
bottleneck of the whole service, and those wakes cost it a fifth of its rate.

Only the network thread touches paho and the socket. The commit thread hands over what a
committed batch needs sent (``send``: the PUBACKs in arrival order and the devices' feedback)
and wakes the thread once per batch; the thread queues it all with paho and sends it in a few
system calls (``buffered_socket.py``). One thread also keeps the PUBACKs in order: paho's write path
is not atomic, and two threads writing at once could swap two packets.

Acknowledgements are only ever sent for messages received on the current connection: the
connection generation moves on before each reconnect, in the thread that acknowledges, so a
packet id of an old connection can never acknowledge a message of a new one (a new session
numbers its messages afresh).

Two kinds of session. ``persistent=True`` (one ingest worker): clean start off and a week's
session expiry, so the broker keeps our subscription and unacknowledged messages across a
restart. ``persistent=False`` (a member of a shared subscription, docs/scaling.md): clean start
and no session expiry, so that a member that is gone stops being handed messages at once
instead of hoarding its share; ``leave()`` unsubscribes before a clean stop so that the member
can finish what the broker already assigned to it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hemkoll.ingest.buffered_socket import BufferedClient, BufferedSocket
from hemkoll.ingest.pipeline import InboundMessage
from hemkoll.paho_client import BROKER_RECONNECT, build_client
from hemkoll.settings import MqttEndpoint

log = logging.getLogger(__name__)

# MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send us. At least one
# full batch of single-reading messages (service.BATCH_MAX_READINGS), so the broker keeps
# sending while a batch commits. Mosquitto's default for clients that do not say (20) starves a
# batching consumer.
RECEIVE_MAXIMUM = 2000
# The broker keeps our subscription and unacknowledged messages this long while we are away.
# A week covers a long outage; devices also keep their backlog until they get feedback.
SESSION_EXPIRY_S = 7 * 24 * 3600
# Broker keepalive: a dead connection is noticed within 1.5x this.
KEEPALIVE_S = 30
# Longest the network thread sleeps when nothing happens: keepalive pings are sent from here,
# and a stop request is noticed within this.
NETWORK_TICK_S = 0.5
# Packets read per wake at most, so that keepalive and writes still get their turn in a flood.
READS_PER_WAKE = 256
# Bytes of wake-up signals read at once: one per batch handed over, so one read takes them all.
WAKE_DRAIN_BYTES = 4096
# How long leave() waits for the broker to confirm the unsubscription (UNSUBACK): a round trip,
# seconds only on a broker that is itself struggling.
LEAVE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Outgoing:
    """What the commit thread sends after a commit: PUBACKs (in arrival order) and publishes."""

    acks: tuple[InboundMessage, ...]
    publishes: tuple[tuple[str, bytes, int], ...]  # (topic, payload, qos)


class MqttSession:
    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str,
        subscription: tuple[str, int],
        on_message: Callable[[InboundMessage], None],
        ca_file: str | None = None,
        persistent: bool = True,
    ) -> None:
        self._endpoint = endpoint
        self._subscription = subscription
        self._deliver = on_message
        self._persistent = persistent
        self._generation = 0
        self._outbox: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._leaving = threading.Event()
        self._unsubscribing = False
        self._left = threading.Event()
        self._left_ok = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="mqtt-network", daemon=True)
        client = build_client(
            BufferedClient, endpoint, client_id=client_id, ca_file=ca_file, manual_ack=True
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_unsubscribe = self._on_unsubscribe
        self._client = client

    # -- called from other threads -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def send(self, outgoing: Outgoing) -> None:
        """Hand acknowledgements and publishes to the network thread, which sends them next."""
        self._outbox.put(outgoing)
        self._wake()

    def leave(self, timeout: float = LEAVE_TIMEOUT_S) -> bool:
        """Unsubscribe and wait for the broker's UNSUBACK; True once nothing new will come.

        Messages the broker had already assigned to this session (in flight, or queued behind
        our Receive Maximum) still arrive afterwards as we acknowledge (measured with Mosquitto
        2.0.11); no reconnect subscribes again. False if the broker did not confirm in time or
        we are not connected (a clean session then ends with the connection anyway).
        """
        self._leaving.set()
        self._wake()
        return self._left.wait(timeout) and self._left_ok

    def stop(self, timeout: float = 10.0) -> None:
        """Send what was handed over, disconnect cleanly (a persistent session stays on the
        broker) and end the thread."""
        self._stopping.set()
        self._wake()
        self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    # -- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info(
            "connected to broker %s:%d (session present: %s)",
            self._endpoint.host,
            self._endpoint.port,
            flags.session_present,
        )
        if not self._leaving.is_set():
            topic, qos = self._subscription
            client.subscribe(topic, qos=qos)
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason_code)

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._left_ok = True
        self._left.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._deliver(
            InboundMessage(
                topic=msg.topic,
                payload=bytes(msg.payload),
                mid=msg.mid,
                qos=msg.qos,
                received_at=datetime.now(UTC),
                generation=self._generation,
            )
        )

    # -- the network thread ------------------------------------------------------------------

    def _wake(self) -> None:
        # A full socket pair means wake-ups are waiting already.
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        retry = BROKER_RECONNECT.start()
        first = True
        while not self._stopping.is_set():
            self._generation += 1
            try:
                if first:
                    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                    if self._persistent:
                        props.SessionExpiryInterval = SESSION_EXPIRY_S
                    props.ReceiveMaximum = RECEIVE_MAXIMUM
                    # paho keeps these for every reconnect: a clean session each time, or the
                    # persistent one resumed each time.
                    self._client.connect(
                        self._endpoint.host,
                        self._endpoint.port,
                        KEEPALIVE_S,
                        clean_start=not self._persistent,
                        properties=props,
                    )
                    first = False
                else:
                    self._client.reconnect()
            except OSError as exc:
                delay = retry.next_delay()
                log.warning(
                    "cannot reach broker %s:%d (%s); retrying in %.0f s",
                    self._endpoint.host,
                    self._endpoint.port,
                    exc.strerror or type(exc).__name__,
                    delay,
                )
                self._stopping.wait(delay)
                continue
            started = time.monotonic()
            connected = self._serve()
            # A session that lasted had recovered: the next outage starts from the first delay.
            # One the broker ended at once (another client with our id, a refusal) backs off.
            ran_s = time.monotonic() - started if connected else 0.0
            self._stopping.wait(retry.after_run(ran_s))
        self._disconnect()

    def _disconnect(self) -> None:
        """Send what was handed over, then DISCONNECT: paho closes the socket right after it,
        and the socket sends what it gathered first (BufferedSocket.close)."""
        if self._client.buffered_socket() is not None:
            self._send_outbox()
        self._client.disconnect()

    def _send_outbox(self) -> None:
        """Queue with paho what the commit thread handed over (into the socket's buffer)."""
        client = self._client
        while True:
            try:
                outgoing = self._outbox.get_nowait()
            except queue.Empty:
                return
            for message in outgoing.acks:
                # A message from an earlier connection is redelivered by the broker; its
                # readings are already stored, so the redelivery becomes duplicates.
                if message.qos > 0 and message.generation == self._generation:
                    client.ack(message.mid, message.qos)
            for topic, payload, qos in outgoing.publishes:
                client.publish(topic, payload, qos=qos)

    def _unsubscribe(self) -> None:
        """leave(): unsubscribe once (the UNSUBACK then sets ``_left``)."""
        self._unsubscribing = True
        topic, _ = self._subscription
        result, _ = self._client.unsubscribe(topic)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._left.set()  # _left_ok stays False

    def _serve(self) -> bool:
        """Drive one connection until it is lost or we stop; True if it got connected."""
        client = self._client
        sock = client.buffered_socket()
        got_connected = False
        while sock is not None and not self._stopping.is_set():
            pending = sock.pending() > 0
            fd, wake_fd = sock.fileno(), self._wake_r.fileno()
            readable, _, _ = select.select(
                [fd, wake_fd],
                [fd] if client.want_write() or sock.wants_flush() else [],
                [],
                0.0 if pending else NETWORK_TICK_S,
            )
            if wake_fd in readable:
                self._wake_r.recv(WAKE_DRAIN_BYTES)
            if (pending or fd in readable) and not self._read_waiting(sock):
                break
            self._send_outbox()
            if self._leaving.is_set() and not self._unsubscribing and self._connected.is_set():
                self._unsubscribe()
            if client.want_write() and client.loop_write() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            if client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            try:
                sock.flush()
            except OSError as exc:
                log.warning(
                    "connection to the broker lost while sending (%s); reconnecting",
                    exc.strerror or type(exc).__name__,
                )
                break
            got_connected = got_connected or self._connected.is_set()
            sock = client.buffered_socket()
        self._connected.clear()
        return got_connected

    def _read_waiting(self, sock: BufferedSocket) -> bool:
        """Read the packets waiting (up to READS_PER_WAKE); False if the connection broke."""
        client = self._client
        for _ in range(READS_PER_WAKE):
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False
            if client.buffered_socket() is not sock:
                return False
            if sock.pending() > 0:
                continue
            if not select.select([sock], [], [], 0.0)[0]:
                break
        return True

"""A submit rate shared by every process and bind of one SMPP account, counted in PDUs.

    throttle = RedisThrottle(redis_client, "myapp:throttle:viettel", rate=200)
    throttle.acquire()      # sleeps until this process may write one submit_sm
    throttle.penalise()     # on ESME_RTHROTTLED / ESME_RMSGQFUL: slow down for a few seconds
    throttle.peek()         # ThrottleState: wait, factor and rate now, reserving nothing

The caller names the Redis key (one per account, shared by every process of that account); the
back-off lives beside it at `<key>:penalty`. Redis's clock is the only clock, so hosts with
skewed clocks stay in step.

Two pacings, as SMSCs police in two ways (docs/ENGINE.md, "Pacing"):

- `per_second` (SMSCs counting per second, or over a sliding second): virtual scheduling (GCRA
  without burst). The key holds the time at which the next PDU may go; a Lua script reserves `n`
  slots `1/rate` apart and answers how long to wait. A process reserves several consecutive
  slots at once at high rates (one Redis round trip per PDU cost a fifth of the smpp process's
  CPU) and hands them out locally at the slot's time. The block grows (doubling, up to
  `block_seconds` of the rate: 0.1 s, 30 slots at 300 TPS) while this process uses whole blocks
  and shrinks when it leaves slots unused. At 20 ms blocks four accounts of 100-300 TPS cost 200
  round trips a second, an eighth of the smpp process's CPU (docs/BENCHMARKS.md, "accounts at
  once"), and each reservation is a chance for a sender held up past its block's end to lose
  the time to the next. A slot more than `late` seconds in the past is skipped, never used, so a
  one-second window holds at most rate * (1 - margin) * (1 + late) + 1 PDUs.
  Why the margin is 2 %, so that an account runs at 98 % of its TPS at most: with `late` half
  the margin, that count is within the allowance only while margin * (1 + margin) / 2 >= 1 / TPS,
  i.e. margin ≳ 2 / TPS. 2 % is that bound at 100 TPS (the least that is safe there even with no
  jitter beyond `late`); 0.7 % would do at 300 TPS, with no room left for the SMSC's jitter in
  stamping (its clock's offset does not matter to a per-second count, only its drift). A margin
  that shrank with the TPS could give a 300 TPS account about a point more; not tried
  (docs/BENCHMARKS.md, "accounts at once").
- `spacing` (SMSCs refusing a submit less than 1/TPS after the previous one, as Jasmin does): one
  process of the account at a time holds a *tenure* (`TENURE`, 0.25 s of slots) taken from Redis,
  and within it one PDU at a time holds the turn (from `acquire` to `sent(at)`). The next slot is
  one interval after the previous PDU was *written* (`at`: when the kernel sent it, departure.py,
  else after the socket took it), on this host's clock, with no round trip: the sender sleeps to
  just before the slot and spins the last `SPIN` (a sleep's wake-up is late by up to ms on a
  busy machine). A PDU that went late pushes the next one back with it instead of crowding it,
  so no two writes of the account are closer than the interval, across every bind and process.
  The tenure is renewed an interval ahead of the slot that falls outside it (the round trip is
  hidden in the wait), handed back with the last write's time when the caller has nothing more
  to write (`sent(..., more=False)`) or another process asked for the turn meanwhile (it is
  then that process's, its first slot an interval after this one's last write), and its Redis
  lease outlasts its last slot by `SLACK` and two intervals: a process killed holding it blocks
  the account that long at most and is never crowded by the next holder. The interval is
  1/(TPS * (1 - margin)): at the default 2 % margin, 20.4 ms for 50 TPS and 5.1 ms for 200, the
  slack the SMSC's own clock gets (it stamps a submit when its loop reads it). Lateness (the
  time from a slot to the kernel's send, ~0.1 ms) is not made up for: the rate is
  1/(interval + mean lateness), the price of never crowding.

The back-off on 0x58/0x14 is additive increase, multiplicative decrease with a floor: each
refusal (repeated refusals within `debounce` seconds count once, since one slow-down answers a
window of them) multiplies the share of the allowance used by `decrease`, never below `floor`;
the share then climbs back by `rise` of the allowance per second. With the defaults a single
refusal costs 10 % for half a second, a long burst of refusals halves the rate at worst and it
is back above 90 % two seconds later: rare refusals (the jitter of a busy network crowding two
spaced submits) never park a link at a fraction of its allowance, and an SMSC that really
allows less sees a refusal about once a second, each answered by resending that PDU.
The session resends the refused PDU itself, so parts keep their order.

Spacing also learns a *pad*, a time added to the interval, from 0x58 (two submits closer than
the SMSC's interval as its clock saw them; not 0x14, a full window): each widens it by
`pad_step` (0.05 ms), refusals within `pad_debounce` (2 s) counting once, up to `pad_cap` of
the interval (a tenth: the pad alone never costs more than 9 % of the rate); it wears off by one
step every `pad_every` (1,000) submits' worth of time at the allowance (5 s at 200 TPS, 20 s at
50), back to nothing. The step was 0.2 ms first: at 200 TPS (5.1 ms) each refusal then cost 4 %
of the rate for 5 s, mostly for refusals a pad does not absorb (a delivery late by ms), and the
rate sat at 91 %; a quarter of that step gave 95.5-95.7 % in 60 s runs (docs/BENCHMARKS.md).
Pacing sits one margin from the SMSC's limit (0.1 ms at 200 TPS), so an
SMSC that stamps a submit late (a busy process reading it) or a network that bunches two
refuses its own jitter; the cut above answers each refusal for half a second only, the pad
stays, and settles where such refusals come about once in `pad_every` submits (0.1 %). Rarer
refusals leave it at nothing: a pad that wore off more slowly (first tried: 0.2 ms in 30 s,
a quarter of the interval at most) climbed on refusals no pad can absorb (deliveries late by
several ms on a loaded host): 200 TPS ran at 80 % over 5 minutes with 0.05 % refused (the
rate that pad gives at its cap: 77 %). A forced burst widens it once.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Literal, NamedTuple, Protocol

Pacing = Literal["per_second", "spacing"]
PACINGS: tuple[Pacing, ...] = ("per_second", "spacing")


class Throttle(Protocol):
    """What a session needs from a throttle."""

    def acquire(self, n: int = 1) -> float: ...

    def penalise(self, crowded: bool = True) -> None:
        """The SMSC refused for rate; `crowded`: for two submits too close (0x58), not for a
        full window (0x14)."""

    def sent(self, at: float | None, more: bool = False) -> None:
        """The PDU the last `acquire` let go was written at monotonic time `at` (None: it was
        not written after all); `more`: the caller has another to write at once."""


SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local rate = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local decrease = tonumber(ARGV[3])
local floor = tonumber(ARGV[4])
local rise = tonumber(ARGV[5]) / 1000000  -- share of the allowance regained per microsecond
local debounce = tonumber(ARGV[6]) * 1000000
local mode = ARGV[7]  -- '0' reserve, '1' penalise, '2' peek (read only), '3' tenure, '4' release
local tenure = tonumber(ARGV[8])  -- tenure: microseconds of slots asked for
local token = ARGV[9]  -- tenure, release: who holds the turn
local slack = tonumber(ARGV[10])  -- tenure: microseconds the lease outlasts the tenure
local ago = tonumber(ARGV[11])  -- tenure, release: microseconds since our last write (-1: none)
local pad_step = tonumber(ARGV[12])  -- spacing: microseconds a crowding refusal adds
local pad_decay = tonumber(ARGV[13])  -- seconds of pad lost per second (µs per µs)
local pad_debounce = tonumber(ARGV[14]) * 1000000
local pad_cap = tonumber(ARGV[15])  -- the pad's ceiling, a share of the interval
local crowded = ARGV[16]  -- penalise: '1' the refusal says two submits came too close

local factor = 1.0
local cut_at = nil
local pad = 0
local pad_at = nil
local stored = redis.call('HMGET', KEYS[2], 'f', 'at', 'p', 'pat')
if stored[1] then
  cut_at = tonumber(stored[2])
  factor = math.min(1.0, tonumber(stored[1]) + rise * (now - cut_at))
end
if stored[3] then
  pad_at = tonumber(stored[4])
  pad = math.max(0, tonumber(stored[3]) - pad_decay * (now - pad_at))
end
if mode == '1' then
  local changed = false
  if not cut_at or now - cut_at >= debounce then
    factor = math.max(floor, factor * decrease)
    redis.call('HSET', KEYS[2], 'f', tostring(factor), 'at', string.format('%.0f', now))
    changed = true
  end
  if crowded == '1' and (not pad_at or now - pad_at >= pad_debounce) then
    pad = math.min(pad_cap * 1000000 / rate, pad + pad_step)
    redis.call('HSET', KEYS[2], 'p', string.format('%.0f', pad),
               'pat', string.format('%.0f', now))
    changed = true
  end
  if changed then  -- kept while the factor climbs back or the pad wears off
    redis.call('PEXPIRE', KEYS[2], math.ceil(math.max((1.0 - factor) / rise,
                                                      pad / pad_decay) / 1000) + 1000)
  end
  return {tostring(factor), 0, 1, 0, 0, string.format('%.0f', pad)}
end

local interval = 1000000 / (rate * factor)
local pad_text = string.format('%.0f', pad)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
if mode == '2' then
  return {tostring(factor), math.floor(start - now), 0, 0, 0, pad_text}
end
if mode == '3' or mode == '4' then
  interval = interval + pad  -- spacing: the margin learnt from refusals
  local holder = redis.call('GET', KEYS[3])
  local ours = holder == token
  if ago >= 0 then
    -- Our last write: the account's next slot is an interval after it. `now` is read after
    -- the caller measured `ago`, so now - ago is no earlier than the write.
    local after = now - ago + interval
    if after >= tat then
      tat = after
      local px = math.ceil((tat - now) / 1000) + 1000
      redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', px)
      redis.call('SET', KEYS[5], token, 'PX', px)
    end
  end
  if mode == '4' then
    if ours then
      redis.call('DEL', KEYS[3])
    end
    return {tostring(factor), math.floor(math.max(0, tat - now)), 0, 0, 0, pad_text}
  end
  local poll = math.floor(math.min(interval / 4, 1000))
  if holder and not ours then  -- another process's tenure: ask again soon, and say so
    redis.call('SET', KEYS[4], token, 'PX', 20)
    return {tostring(factor), poll, 0, 0, 0, pad_text}
  end
  local want = redis.call('GET', KEYS[4])
  if want and want ~= token then  -- another process waits: its turn now
    if ours then
      redis.call('DEL', KEYS[3])
    end
    return {tostring(factor), poll, 0, 0, 0, pad_text}
  end
  if want then
    redis.call('DEL', KEYS[4])
  end
  tenure = math.max(tenure, 1.5 * interval)
  -- The lease outlasts the last slot of the tenure by `slack` and two intervals (the floor of
  -- the back-off at most doubles it): a holder that died is never crowded by the next one.
  redis.call('SET', KEYS[3], token, 'PX', math.ceil((tenure + slack + 2 * interval) / 1000))
  local continued = redis.call('GET', KEYS[5]) == token and 1 or 0
  return {tostring(factor), math.floor(math.max(0, tat - now)), 1, continued,
          math.floor(tenure), pad_text}
end
local next_free = start + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', next_free),
           'PX', math.ceil((next_free - now) / 1000) + 1000)
return {tostring(factor), math.floor(start - now), 1, 0, 0, pad_text}
"""


class ThrottleState(NamedTuple):
    """What the shared throttle of an account says now (for metrics)."""

    wait: float  # seconds a PDU asking now would wait
    factor: float  # share of the allowance used now (1: all; less after 0x58/0x14)
    rate: float  # PDUs per second allowed now
    pad: float = 0.0  # spacing: seconds added to the interval, learnt from 0x58


RESERVE, PENALISE, PEEK, SPACE, SENT = "0", "1", "2", "3", "4"  # the script's modes


class Backoff:
    """The back-off's arithmetic in one process (LocalThrottle; the script does the same)."""

    def __init__(self, decrease: float, floor: float, rise: float, debounce: float) -> None:
        self.decrease, self.floor, self.rise, self.debounce = decrease, floor, rise, debounce
        self._factor = 1.0
        self._cut_at: float | None = None

    def factor(self, now: float) -> float:
        if self._cut_at is None:
            return 1.0
        return min(1.0, self._factor + self.rise * (now - self._cut_at))

    def cut(self, now: float) -> None:
        if self._cut_at is None or now - self._cut_at >= self.debounce:
            self._factor = max(self.floor, self.factor(now) * self.decrease)
            self._cut_at = now


class _Block:
    """Slots `interval` seconds apart reserved by one call: the first at local time `start`."""

    __slots__ = ("interval", "size", "skipped", "start", "used")

    def __init__(self, start: float, interval: float, size: int) -> None:
        self.start, self.interval, self.size = start, interval, size
        self.used = self.skipped = 0

    def take(self, now: float, late: float) -> float | None:
        """The time of this process's next slot not older than `late`; None when none is left."""
        index = self.used + self.skipped
        if index < self.size and now - (self.start + index * self.interval) > late:
            fresh = int((now - late - self.start) / self.interval) + 1
            self.skipped += min(self.size, fresh) - index
            index = self.used + self.skipped
        if index >= self.size:
            return None
        self.used += 1
        return self.start + index * self.interval


class RedisThrottle:
    """The shared throttle of one account (thread-safe; one per process is enough)."""

    # Spacing: the slots a tenure gives this process (seconds; longer when one interval is),
    # what the Redis lease outlasts them by (a holder that died blocks the account that much
    # longer at most), and how long before a slot the sender stops sleeping and spins (a
    # sleep's wake-up is late by tens of µs on a quiet machine, by ms on a busy one).
    TENURE = 0.25
    SLACK = 0.5
    SPIN = 0.0004
    LEASE = 0.5  # spacing: s one thread may hold this process's turn without saying `sent`

    def __init__(self, client: Any, key: str, rate: float, *, pacing: str = "per_second",
                 margin: float = 0.02, decrease: float = 0.9, floor: float = 0.5,
                 rise: float = 0.2, debounce: float = 1.0, block_seconds: float = 0.1,
                 late: float | None = None, pad_step: float = 0.00005,
                 pad_every: float = 1000, pad_debounce: float = 2.0,
                 pad_cap: float = 0.1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no throttle for an unlimited account")
        if pacing not in PACINGS:
            raise ValueError(f"pacing is one of {', '.join(PACINGS)}")
        if pad_every <= 0:
            raise ValueError("pad_every must be positive: a pad that never wears off parks")
        self.rate = rate
        self.key = key
        self.pacing = pacing
        self._effective = rate * (1 - margin)
        self._keys = [key, f"{key}:penalty", f"{key}:turn", f"{key}:want", f"{key}:last"]
        self._args = (decrease, floor, rise, debounce)
        # The pad wears off by one step every `pad_every` submits at the allowance: it settles
        # where crowding refusals come once in that many, whatever the TPS.
        pad_decay = pad_step * self._effective / pad_every  # seconds of pad per second
        self._pad_args = (pad_step, pad_decay, pad_debounce, pad_cap)
        self._script = client.register_script(SCRIPT)
        self._block_seconds = block_seconds
        self._late = margin / 2 if late is None else late
        self._lock = threading.Lock()
        self._block: _Block | None = None
        self._size = 1  # slots the next reservation asks for
        self.factor = 1.0  # share of the allowance last seen
        self.pad = 0.0  # spacing: the pad last seen (seconds)
        self._factor_at = 0.0  # when (monotonic) they were seen
        self.reservations = 0  # round trips to Redis (for benchmarks)
        # Spacing. The thread holding this process's turn (from `acquire` to `sent`) and since
        # when; the tenure: until when (monotonic) this process's slots are its own (0: no
        # tenure), this process's last write, the first slot Redis gave (after another
        # process's write) and the slot the holder was let go at.
        self._turn = threading.Condition()
        self._holder: int | None = None
        self._held_at = 0.0
        self._tenure_until = 0.0
        self._last: float | None = None
        self._first = 0.0
        self._slot = 0.0
        self._waiting = 0  # threads of this process waiting for the turn
        self._token = uuid.uuid4().hex
        self.tenures = 0  # tenures taken (for benchmarks)
        self.late = 0.0  # seconds from slots to writes, summed (for benchmarks)
        self.writes = 0  # writes reported `sent`

    def _call(self, n: int, mode: str) -> float:
        return self._ask(n, mode)[0]

    def _ask(self, n: int, mode: str, ago: float = -1.0,
             crowded: bool = False) -> tuple[float, bool, bool, float]:
        """(seconds to wait, whether slots (or a tenure) were given, whether the tenure follows
        this process's own last write, seconds of tenure)."""
        decrease, floor, rise, debounce = self._args
        pad_step, pad_decay, pad_debounce, pad_cap = self._pad_args
        factor, wait_us, given, continued, tenure_us, pad_us = self._script(
            keys=self._keys, args=[
                repr(self._effective), n, decrease, floor, rise, debounce, mode,
                int(self.TENURE * 1e6), self._token, int(self.SLACK * 1e6),
                int(ago * 1e6) if ago >= 0 else -1, int(pad_step * 1e6), repr(pad_decay),
                repr(pad_debounce), repr(pad_cap), "1" if crowded else "0"])
        self.factor, self._factor_at = float(factor), time.monotonic()
        self.pad = int(pad_us) / 1e6
        return int(wait_us) / 1e6, bool(given), bool(continued), int(tenure_us) / 1e6

    def _reserve(self) -> None:
        old = self._block
        if old is not None:
            if old.skipped:  # slots went stale unused: ask for fewer
                self._size = max(1, self._size // 2)
            else:
                self._size *= 2
        self._size = min(self._size, max(1, int(self.current_rate * self._block_seconds)))
        wait = self._call(self._size, RESERVE)
        self.reservations += 1
        # The block starts `wait` after Redis read its clock; counting from after the reply can
        # only make this process later than its slots, never earlier.
        self._block = _Block(time.monotonic() + wait, 1.0 / self.current_rate, self._size)

    def acquire(self, n: int = 1) -> float:
        """Wait until `n` PDUs may be written; returns the seconds waited."""
        if self.pacing == "spacing":
            return self._space(n)
        waited = 0.0
        for _ in range(n):
            with self._lock:
                slot = None
                while slot is None:
                    if self._block is not None:
                        slot = self._block.take(time.monotonic(), self._late)
                    if slot is None:
                        self._reserve()
            wait = slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                waited += wait
        return waited

    def _space(self, n: int) -> float:
        """Take `n` turns; the last is held until `sent` (the ones before count as written when
        the next is taken: a caller writing several PDUs per acquire)."""
        started = time.monotonic()
        for turn in range(n):
            if turn:
                self.sent(time.monotonic(), more=True)
            self._take_turn()
            try:
                self._slot = self._wait_slot()
            except BaseException:
                self._give_back()
                raise
        return time.monotonic() - started

    def _take_turn(self) -> None:
        """Hold this process's turn: wait while another thread holds it (up to LEASE); a turn
        this thread still holds, or one that lapsed, counts as written now."""
        me = threading.get_ident()
        with self._turn:
            lapsed = self._holder == me
            self._waiting += 1
            try:
                while self._holder is not None and self._holder != me:
                    left = self._held_at + self.LEASE - time.monotonic()
                    if left <= 0:
                        lapsed = True  # its holder never said: it may write any time now
                        break
                    self._turn.wait(left)
            finally:
                self._waiting -= 1
            if lapsed:
                self._wrote(time.monotonic())
            self._holder, self._held_at = me, time.monotonic()

    def _interval(self, now: float) -> float:
        """The account's interval now: the factor last seen climbs back and the pad wears off
        as Redis's do."""
        factor, pad = self.factor, self.pad
        if factor < 1.0:
            factor = min(1.0, factor + self._args[2] * (now - self._factor_at))
        if pad:
            pad = max(0.0, pad - self._pad_args[1] * (now - self._factor_at))
        return 1.0 / (self._effective * factor) + pad

    def _wait_slot(self) -> float:
        """Until this process's next slot (the turn is held locally); returns its time.

        Within a tenure the slot is an interval after this process's last write, on this
        host's clock, with no round trip; a tenure is taken (or renewed) from Redis when the
        slot falls outside it, which happens an interval ahead of that slot, so the round trip
        is not in the way.
        """
        while True:
            now = time.monotonic()
            slot = self._first
            if self._last is not None:
                slot = max(slot, self._last + self._interval(now))
            if self._tenure_until and slot <= self._tenure_until:
                self._sleep_until(slot)
                return max(slot, time.monotonic())
            asked = time.monotonic()
            ago = -1.0 if self._last is None else max(0.0, asked - self._last)
            wait, given, continued, tenure = self._ask(1, SPACE, ago)
            self.reservations += 1
            if given:
                self.tenures += 1
                # Redis counted the lease from after `asked`: ending the tenure at `asked` +
                # tenure can only end it early.
                self._tenure_until = asked + tenure
                if not continued:
                    # Another process wrote since: its write as Redis knows it, an interval on,
                    # counted from after the reply (later than it, never earlier).
                    self._first = time.monotonic() + wait
                continue
            self._tenure_until = 0.0
            time.sleep(wait)

    def _sleep_until(self, slot: float) -> None:
        left = slot - time.monotonic()
        if left > self.SPIN:
            time.sleep(left - self.SPIN)
        while time.monotonic() < slot:  # spin the last fraction of a ms: no wake-up to wait for
            pass

    def _wrote(self, at: float) -> None:
        if self._last is None or at > self._last:
            self._last = at

    def _give_back(self) -> None:
        with self._turn:
            if self._holder == threading.get_ident():
                self._holder = None
                self._turn.notify()

    def sent(self, at: float | None, more: bool = False) -> None:
        """Spacing: the PDU this thread's `acquire` let go was written at monotonic `at` (None:
        not written); the account's next slot is one interval after it. `more`: the caller has
        another PDU to write at once; otherwise, unless another thread of this process waits,
        the tenure is handed back to Redis now, so that a process with nothing to write does
        not hold the account. Nothing when pacing per second."""
        if self.pacing != "spacing":
            return
        with self._turn:
            if at is not None:
                self._wrote(at)
                if self._holder == threading.get_ident():
                    self.late += max(0.0, at - self._slot)
                    self.writes += 1
            if self._holder != threading.get_ident():
                return  # no turn held (a caller reporting twice, or after the turn lapsed)
            idle = not more and not self._waiting and self._tenure_until > 0
        try:
            if idle:
                self._release()
        finally:
            self._give_back()

    def _release(self) -> None:
        """Hand the tenure back: Redis learns this process's last write (the next slot)."""
        self._tenure_until = 0.0
        ago = -1.0 if self._last is None else max(0.0, time.monotonic() - self._last)
        self._ask(0, SENT, ago)
        self.reservations += 1

    def penalise(self, crowded: bool = True) -> None:
        """The SMSC refused for rate (0x58/0x14): slow every process of this account down.
        Spacing, `crowded` (0x58: two submits closer than the SMSC's interval, as its clock
        saw them): the pad widens too."""
        with self._lock:
            # The block was spaced for the old rate: drop it (its slots are lost, which errs
            # on the slow side) and start small again.
            self._block, self._size = None, 1
            self._ask(0, PENALISE, crowded=crowded and self.pacing == "spacing")

    def peek(self) -> ThrottleState:
        """The wait, penalty level and rate of this account now, from Redis, reserving nothing
        (spaced: as of the last tenure's start or end)."""
        with self._lock:
            wait = self._call(0, PEEK)
            return ThrottleState(wait, self.factor, self.current_rate, self.pad)

    @property
    def current_rate(self) -> float:
        if self.pacing == "spacing" and self.pad:
            return 1.0 / (1.0 / (self._effective * self.factor) + self.pad)
        return self._effective * self.factor


class LocalThrottle:
    """The same schedule in one process, without Redis (tests, a one-off `smpp test`)."""

    def __init__(self, rate: float, *, margin: float = 0.02, decrease: float = 0.9,
                 floor: float = 0.5, rise: float = 0.2, debounce: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._effective = rate * (1 - margin)
        self._backoff = Backoff(decrease, floor, rise, debounce)
        self._lock = threading.Lock()
        self._next_free = 0.0

    @property
    def factor(self) -> float:
        return self._backoff.factor(time.monotonic())

    def acquire(self, n: int = 1) -> float:
        with self._lock:
            now = time.monotonic()
            start = max(self._next_free, now)
            self._next_free = start + n / (self._effective * self._backoff.factor(now))
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalise(self, crowded: bool = True) -> None:
        with self._lock:
            self._backoff.cut(time.monotonic())

    def sent(self, at: float | None, more: bool = False) -> None:
        """Slots are planned only (one process: nothing crowds them but its own writes)."""

    @property
    def current_rate(self) -> float:
        return self._effective * self.factor

#!/usr/bin/env python3
"""strobe-impair, the delay/jitter/reordering bridge of the fault tests, measured from outside:
timestamped UDP datagrams (sender's CLOCK_REALTIME in the payload, the receiver's kernel receive
timestamp, one clock on one machine) cross it between two namespaces, and each setting's
one-way delay distribution is checked:

  fixed 10 ms          min >= 10 ms, median and p99 within 0.3 / 0.5 ms of it, no reordering;
  10 ms +- 5 uniform   all within [5, 15] ms (+ the hold precision), mean 10 +- 0.5 ms,
                       standard deviation 5 / sqrt(3) = 2.89 +- 0.35 ms, reordering seen
                       (datagrams 1 ms apart, spread 10 ms) and counted alike by the tool;
  the same, FIFO       no reordering at all;
  normal 20 ms, sd 3   mean 20 +- 0.5 ms, standard deviation 3 +- 0.4 ms;
  swap every 4th       exactly N/4 - 1 datagrams overtaken (the last held one has no follower);
  10 % loss            900 +- 60 of 1,000 arrive (6 standard deviations), the tool's count of
                       drops equal to what is missing;
  both directions      8 ms one way and 3 ms the other, at the same time;
and the counters it prints on SIGTERM: frames forwarded, and how late they left (mean below
0.2 ms, fewer than 1 % later than 1 ms).
"""

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faults  # noqa: E402
import lab  # noqa: E402
from strobe import check  # noqa: E402

PROBE = str(Path(faults.__file__).resolve())
PORT = 40000


def probe(L: lab.Lab, src_ns: str, dst_ns: str, dst: str, count: int, interval_us: int,
          idle_s: float = 1.0, port: int = PORT, background: bool = False):
    """Sends `count` datagrams src_ns -> dst; returns [(seq, one-way delay ms)] in arrival
    order (or, with background, a function that waits for that)."""
    recv = L.spawn(dst_ns, [sys.executable, PROBE, "udp-recv", str(port), str(count), str(idle_s)],
                   desc=f"udp-recv@{dst_ns}")
    log = recv.log_path  # type: ignore[attr-defined]

    def ready() -> bool:
        check(recv.poll() is None, "udp-recv exited:\n" + log.read_text())
        return '"ready"' in log.read_text()
    lab.wait_until(ready, 10, what="the UDP receiver")
    send = L.spawn(src_ns, [sys.executable, PROBE, "udp-send", dst, str(port), str(count),
                            str(interval_us)], desc=f"udp-send@{src_ns}")

    def result() -> list[tuple[int, float]]:
        lab.wait_until(lambda: send.poll() is not None, 60, what="the UDP sender")
        check(L.stop(send) == 0, f"udp-send exited with {send.returncode}")
        lab.wait_until(lambda: '"done"' in log.read_text(), 60, what="the UDP receiver to finish")
        L.stop(recv)
        done = [json.loads(x) for x in log.read_text().splitlines() if '"done"' in x][0]
        return [(seq, ns / 1e6) for seq, ns in done["received"]]

    return result if background else result()


def reordered(got: list[tuple[int, float]]) -> int:
    """Datagrams that arrived after one sent later."""
    n, highest = 0, -1
    for seq, _ in got:
        n += seq < highest
        highest = max(highest, seq)
    return n


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def describe(name: str, got: list[tuple[int, float]]) -> list[float]:
    d = [x for _, x in got]
    print(f"{name}: {len(d)} received, one-way min {min(d):.3f} median {pct(d, 0.5):.3f} "
          f"mean {statistics.fmean(d):.3f} p99 {pct(d, 0.99):.3f} max {max(d):.3f} ms, "
          f"sd {statistics.pstdev(d):.3f} ms, {reordered(got)} reordered")
    return d


def main() -> int:
    lab.require_root_tools(frr=False, bird=False, tshark=False)
    with lab.Lab() as L:
        t_start = time.monotonic()
        a, w, b = L.ns("snd"), L.ns("wire"), L.ns("rcv")
        link, wa, wb = faults.wire(L, a, b, w, v6=False)
        imp = faults.Impair(L, w, wa, wb, seed=7)

        def counter(name: str, direction: str = "a_to_b") -> int:
            return imp.stats()[direction]["counters"][name]

        # Warm-up through an unimpaired bridge: ARP resolved both ways before anything is timed.
        got = probe(L, a, b, link.v4_b, 20, 1000)
        check(len(got) == 20, f"warm-up: {len(got)} of 20 datagrams crossed the bridge")

        imp.set(delay_ms=10, jitter_ms=0, reorder=False)
        d = describe("fixed 10 ms", got := probe(L, a, b, link.v4_b, 500, 1000))
        check(len(d) == 500, f"fixed: {len(d)} of 500 arrived")
        check(min(d) >= 10.0, f"fixed: a datagram took {min(d):.3f} ms, less than the delay")
        check(pct(d, 0.5) < 10.3 and pct(d, 0.99) < 10.5,
              f"fixed: median {pct(d, 0.5):.3f} / p99 {pct(d, 0.99):.3f} ms, want < 10.3 / 10.5")
        check(reordered(got) == 0, "fixed delay reordered datagrams")

        r0 = counter("reordered")
        imp.set(delay_ms=10, jitter_ms=5, reorder=True)
        d = describe("10 +- 5 ms uniform, reorder", got := probe(L, a, b, link.v4_b, 1000, 1000))
        check(len(d) == 1000, f"uniform: {len(d)} of 1000 arrived")
        check(min(d) >= 5.0 and max(d) <= 16.0,
              f"uniform: delays in [{min(d):.3f}, {max(d):.3f}] ms, want [5, 15 + 1]")
        check(pct(d, 0.99) <= 15.5, f"uniform: p99 {pct(d, 0.99):.3f} ms above 15.5")
        check(abs(statistics.fmean(d) - 10) < 0.5, f"uniform: mean {statistics.fmean(d):.3f} ms")
        check(abs(statistics.pstdev(d) - 5 / 3 ** 0.5) < 0.35,
              f"uniform: sd {statistics.pstdev(d):.3f} ms, want 2.89")
        n = reordered(got)
        check(n > 100, f"uniform with reorder: only {n} datagrams reordered")
        check(counter("reordered") - r0 == n,
              f"the tool counted {counter('reordered') - r0} reordered, the receiver {n}")

        r0 = counter("reordered")
        imp.set(delay_ms=10, jitter_ms=5, reorder=False)
        d = describe("10 +- 5 ms uniform, FIFO", got := probe(L, a, b, link.v4_b, 1000, 1000))
        check(len(d) == 1000 and min(d) >= 5.0, f"FIFO: {len(d)} arrived, min {min(d):.3f} ms")
        check(reordered(got) == 0 and counter("reordered") == r0,
              f"FIFO reordered {reordered(got)} datagrams")

        imp.set(delay_ms=20, jitter_ms=3, distribution="normal", reorder=True)
        d = describe("20 ms normal sd 3", probe(L, a, b, link.v4_b, 1000, 1000))
        check(abs(statistics.fmean(d) - 20) < 0.5, f"normal: mean {statistics.fmean(d):.3f} ms")
        check(abs(statistics.pstdev(d) - 3) < 0.4, f"normal: sd {statistics.pstdev(d):.3f} ms")

        r0, s0 = counter("reordered"), counter("swapped")
        imp.set(delay_ms=0, jitter_ms=0, distribution="uniform", reorder=False, swap_every=4)
        got = probe(L, a, b, link.v4_b, 400, 1000)
        describe("swap every 4th", got)
        check(len(got) == 400, f"swap: {len(got)} of 400 arrived")
        check(reordered(got) == 99 and counter("reordered") - r0 == 99,
              f"swap every 4th: receiver saw {reordered(got)}, the tool counted "
              f"{counter('reordered') - r0} reordered, want 99")
        check(counter("swapped") - s0 == 100, f"swapped {counter('swapped') - s0}, want 100")

        l0 = counter("dropped_loss")
        imp.set(swap_every=0, loss_pct=10)
        got = probe(L, a, b, link.v4_b, 1000, 500, idle_s=0.5)
        lost = counter("dropped_loss") - l0
        print(f"10 % loss: {len(got)} of 1000 arrived, the tool dropped {lost}")
        check(840 <= len(got) <= 960, f"10 % loss: {len(got)} of 1000 arrived")
        check(lost == 1000 - len(got), f"the tool dropped {lost}, {1000 - len(got)} are missing")

        imp.set(loss_pct=0)
        imp.set(direction="a_to_b", delay_ms=8)
        imp.set(direction="b_to_a", delay_ms=3)
        back = probe(L, b, a, link.v4_a, 500, 1000, port=PORT + 1, background=True)
        forth = probe(L, a, b, link.v4_b, 500, 1000)
        back_got = back()
        d1, d2 = describe("a -> b 8 ms", forth), describe("b -> a 3 ms", back_got)
        check(len(d1) == 500 and len(d2) == 500, f"both ways: {len(d1)} and {len(d2)} arrived")
        check(8 <= min(d1) and pct(d1, 0.5) < 8.3 and 3 <= min(d2) and pct(d2, 0.5) < 3.3,
              f"both ways: medians {pct(d1, 0.5):.3f} and {pct(d2, 0.5):.3f} ms")

        final = imp.stop()
        for direction in ("a_to_b", "b_to_a"):
            c = final[direction]["counters"]
            late = c["late_us"]
            print(f"{direction}: {json.dumps(c)}")
            check(c["send_errors"] == 0 and c["truncated"] == 0, f"{direction}: errors {c}")
            check(c["forwarded"] + c["dropped_loss"] + c["dropped_at_exit"] == c["received"],
                  f"{direction}: frames unaccounted for: {c}")
            check(late["mean"] < 200 and c["late_over_1ms"] <= 0.01 * c["forwarded"],
                  f"{direction}: frames left late: mean {late['mean']:.1f} us, "
                  f"{c['late_over_1ms']} of {c['forwarded']} over 1 ms")
        check(final["a_to_b"]["counters"]["forwarded"] >= 20 + 500 + 3000 + 400 + 900 + 500,
              f"a_to_b forwarded only {final['a_to_b']['counters']['forwarded']}")
        print(f"PASS: strobe-impair's delay, jitter, reordering, swaps, loss and directions "
              f"as set ({time.monotonic() - t_start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

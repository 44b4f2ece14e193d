#!/usr/bin/env python3
"""Prints the bench suite's results (scripts/bench.sh) as one markdown table of ratios, with
the machine and the date.

Every ratio is wsmachine's cost over the other's, below 1.0 = wsmachine is better:
- criterion cases (benches/throughput.rs): median time over the best peer's median time
  (best of tungstenite, fastwebsockets, tokio-websockets) and over memcpy of the same bytes
  (for the receives from a socket: the reader's CPU time, over the plain reads');
  with several passes (baselines pass1, pass2.. as scripts/bench.sh saves), each case's
  best median; the next column compares the fastest single samples (per-iteration time)
  of all passes instead, which load from elsewhere on a shared machine disturbs least;
- loopback echo: time per message (1 / msgs/s) over the best peer's, and over the raw TCP
  echo's (the ceiling); with several rounds, each server's best round; the server's CPU
  time per message (least of the rounds) is shown beside the rates, and its ratio to the
  least of the peers' in the "fastest samples" column;
- idle memory: bytes per idle open connection over the best peer's.

Usage: scripts/bench-report.py [--criterion target/criterion] [--loopback FILE.jsonl]
       [--detail]   (--detail adds a second table with every library's figure)
"""
import argparse, datetime, json, os, platform, subprocess

PEERS = ["tungstenite", "fastwebsockets", "tokio-websockets"]
RECEIVE = [
    ("binary-16B", "receive binary 16 B"),
    ("binary-64B", "receive binary 64 B"),
    ("binary-16KiB", "receive binary 16 KiB"),
    ("binary-64KiB", "receive binary 64 KiB"),
    ("binary-1MiB", "receive binary 1 MiB"),
    ("text-utf8-1KiB", "receive mixed-script UTF-8 text 1 KiB"),
    ("text-utf8-64KiB", "receive mixed-script UTF-8 text 64 KiB"),
]
SENDS = [("16B", "16 B"), ("128B", "128 B"), ("1KiB", "1 KiB")]
ECHO = [("100x20B", "100 conns x 20 B, 32 in flight"), ("10x16KiB", "10 x 16 KiB, 4 in flight"),
        ("1x1MiB", "1 x 1 MiB, 2 in flight")]
# Open-loop cases (loadgen --rate): every server gets the same bursts; compared by server
# CPU per message only (the rate is fixed), and only among servers that kept up.
PACED = [("100x20B@300k", "100 conns x 20 B at a fixed 300,000 msgs/s")]


def criterion_results(root):
    """{group: {lib: {case: (median ns, throughput bytes)}}}"""
    out = {}
    if not os.path.isdir(root):
        return out
    for group in os.listdir(root):
        gdir = os.path.join(root, group)
        if not os.path.isdir(gdir):
            continue
        for lib in os.listdir(gdir):
            ldir = os.path.join(gdir, lib)
            if lib == "report" or not os.path.isdir(ldir):
                continue
            for case in os.listdir(ldir):
                cdir = os.path.join(ldir, case)
                # scripts/bench.sh saves passes as baselines pass1, pass2...; a plain
                # `cargo bench` writes "new". Each case keeps its best median.
                runs = [d for d in os.listdir(cdir) if d.startswith("pass")] or ["new"]
                best = None
                fastest = None
                for run in runs:
                    est = os.path.join(cdir, run, "estimates.json")
                    meta = os.path.join(cdir, run, "benchmark.json")
                    samples = os.path.join(cdir, run, "sample.json")
                    if not os.path.exists(est):
                        continue
                    with open(est) as f:
                        median = json.load(f)["median"]["point_estimate"]
                    nbytes = None
                    if os.path.exists(meta):
                        with open(meta) as f:
                            tp = json.load(f).get("throughput") or {}
                        nbytes = tp.get("Bytes")
                    if best is None or median < best[0]:
                        best = (median, nbytes)
                    if os.path.exists(samples):
                        with open(samples) as f:
                            sm = json.load(f)
                        low = min(t / i for t, i in zip(sm["times"], sm["iters"]))
                        fastest = low if fastest is None else min(fastest, low)
                if best:
                    out.setdefault(group, {}).setdefault(lib, {})[case] = best + (fastest,)
    return out


def loopback_results(path):
    """echo {case: {server: best msgs/s}}, cpu {case: {server: least server CPU us/msg}},
    idle {server: bytes per connection}"""
    echo, cpu, idle = {}, {}, {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r["kind"] == "echo":
                    # The best round of each server (load from elsewhere only slows).
                    rates = echo.setdefault(r["case"], {})
                    rates[r["server"]] = max(rates.get(r["server"], 0), r["msgs_per_s"])
                    us = r.get("server_cpu_us_per_msg")
                    # Open loop: a round in which the server fell behind says nothing of
                    # its CPU per message at that rate.
                    if "rate" in r and r["msgs_per_s"] < 0.97 * r["rate"]:
                        us = None
                    if us:
                        c = cpu.setdefault(r["case"], {})
                        c[r["server"]] = min(c.get(r["server"], us), us)
                elif r["kind"] == "idle":
                    idle[r["server"]] = r["bytes_per_connection"]
    return echo, cpu, idle


def gbs(median_ns, nbytes, _fastest=None):
    return f"{nbytes / median_ns:.2f} GB/s" if nbytes else f"{median_ns / 1e3:.0f} us"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc ?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, {rustc}, load average now {load}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", default="target/criterion")
    ap.add_argument("--loopback", default="target/bench/loopback.jsonl")
    ap.add_argument("--detail", action="store_true")
    a = ap.parse_args()
    crit = criterion_results(a.criterion)
    echo, cpu, idle = loopback_results(a.loopback)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Bench suite, {now}; {machine()}.")
    print("Ratios are wsmachine's cost (time, time per message, bytes) over the other's: "
          "below 1 = wsmachine better.\n")
    print("| case | wsmachine | best peer | wsmachine / best peer | same, fastest samples "
          "| wsmachine / baseline |")
    print("|---|---|---|---|---|---|")
    detail = []

    def crit_row(label, group, case, baseline):
        libs = crit.get(group, {})
        ours = libs.get("wsmachine", {}).get(case)
        if not ours:
            return
        peers = [(p, libs[p][case]) for p in PEERS if case in libs.get(p, {})]
        best = min(peers, key=lambda x: x[1][0]) if peers else None
        fast = [v[2] for _, v in peers if v[2]]
        base = libs.get(baseline, {}).get(case) if baseline else None
        print(f"| {label} | {gbs(*ours)} | "
              + (f"{best[0]} {gbs(*best[1])}" if best else "-")
              + f" | {ratio(ours[0], best[1][0]) if best else '-'} | "
              + f"{ratio(ours[2], min(fast)) if fast and ours[2] else '-'} | "
              + (f"{ratio(ours[0], base[0])} ({baseline} {gbs(*base)})" if base else "-") + " |")
        detail.append((label, [("wsmachine", gbs(*ours))] + [(p, gbs(*v)) for p, v in peers]
                       + ([(baseline, gbs(*base))] if base else [])))

    for case, label in RECEIVE:
        crit_row(label, "receive", case, "memcpy")
    # The same streams read from a TCP loopback socket, timed as the reader's CPU time
    # (system calls and the kernel's copy included); the baseline is the reads alone.
    for case, label in RECEIVE:
        crit_row(label + " from a socket", "receive-socket", case, "read")
    for group, role in (("send-server", "server"), ("send-client", "client")):
        for case, size in SENDS:
            crit_row(f"{role} send {size}", group, case, None)

    for case, label in ECHO:
        rates = echo.get(case, {})
        peers = [(p, rates[p]) for p in PEERS if p in rates]
        best = max(peers, key=lambda x: x[1]) if peers else None
        raw = rates.get("raw")
        us = cpu.get(case, {})

        def cpu_note(server):
            return f" ({us[server]:.2f} us server CPU/msg)" if server in us else ""

        for adapter in ("tokio", "mio"):
            ours = rates.get(adapter)
            if not ours:
                continue
            cpu_ratio = "-"
            peer_cpu = [us[p] for p in PEERS if p in us]
            if adapter in us and peer_cpu:
                cpu_ratio = f"CPU/msg {ratio(us[adapter], min(peer_cpu))}"
            print(f"| echo {label}, {adapter} adapter | {ours:,.0f} msgs/s{cpu_note(adapter)} | "
                  + (f"{best[0]} {best[1]:,.0f}{cpu_note(best[0])}" if best else "-")
                  + f" | {ratio(best[1], ours) if best else '-'} | {cpu_ratio} | "
                  + (f"{ratio(raw, ours)} (raw TCP {raw:,.0f})" if raw else "-") + " |")
        if rates:
            detail.append((f"echo {label} (msgs/s)", [(s, f"{r:,.0f}") for s, r in rates.items()]))
        if us:
            detail.append((f"echo {label} (server CPU us/msg)",
                           [(s, f"{v:.2f}") for s, v in us.items()]))

    for case, label in PACED:
        us = cpu.get(case, {})
        peer_cpu = [(p, us[p]) for p in PEERS if p in us]
        best = min(peer_cpu, key=lambda x: x[1]) if peer_cpu else None
        behind = [p for p in echo.get(case, {}) if p not in us]
        for adapter in ("tokio", "mio"):
            if adapter not in us:
                continue
            print(f"| echo {label}, {adapter} adapter | {us[adapter]:.2f} us server CPU/msg | "
                  + (f"{best[0]} {best[1]:.2f} us" if best else "-")
                  + f" | - | CPU/msg {ratio(us[adapter], best[1]) if best else '-'} | "
                  + (f"{ratio(us[adapter], us['raw'])} (raw TCP {us['raw']:.2f} us)"
                     if "raw" in us else "-") + " |")
        if us or behind:
            detail.append((f"echo {label} (server CPU us/msg)",
                           [(s, f"{v:.2f}") for s, v in us.items()]
                           + [(s, "fell behind the rate") for s in behind]))

    peers = [(p, idle[p]) for p in PEERS if p in idle]
    best = min(peers, key=lambda x: x[1]) if peers else None
    for adapter in ("tokio", "mio"):
        ours = idle.get(adapter)
        if ours is None:
            continue
        print(f"| idle memory per connection (5,000), {adapter} adapter | {ours / 1e3:.1f} KB | "
              + (f"{best[0]} {best[1] / 1e3:.1f} KB" if best else "-")
              + f" | {ratio(ours, best[1]) if best else '-'} | - | "
              + (f"raw TCP {idle['raw'] / 1e3:.1f} KB" if "raw" in idle else "-") + " |")
    if idle:
        detail.append(("idle memory per connection", [(s, f"{b / 1e3:.1f} KB") for s, b in idle.items()]))

    if a.detail:
        print("\n| case | every figure |\n|---|---|")
        for label, figs in detail:
            print(f"| {label} | " + ", ".join(f"{n} {v}" for n, v in figs) + " |")


if __name__ == "__main__":
    main()

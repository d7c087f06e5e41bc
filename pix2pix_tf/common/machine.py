"""What the machine a run is on can do: CPU, GPUs, memory.

The speed settings chosen at run time (`common.precision`, `common.speed`)
read the machine through `probe()`: a `Machine` (CPU model, family/model, ISA
flags, clock, usable cores; GPUs and their compute capability; memory;
oneDNN's ISA cap). Everything but `gpus()` is plain Python (no TensorFlow).
The benches' description of the machine, its peak and its measured rates are
in benchmarks/rates.py.
"""

import dataclasses
import os

# oneDNN's ISA levels, lowest first ($ONEDNN_MAX_CPU_ISA caps the kernels it
# dispatches to; AVX10_1_512 is the newer name of AVX512_CORE_FP16, and so on).
ONEDNN_ISA_LEVELS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
                     "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512",
                     "AVX512_CORE_AMX", "AVX10_1_512_AMX", "AVX512_CORE_AMX_FP16",
                     "AVX10_1_512_AMX_FP16")
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"


@dataclasses.dataclass(frozen=True)
class Cpu:
    """A CPU as /proc/cpuinfo describes it; `cores`: those this process may use."""
    model: str = "unknown"
    vendor: str = "unknown"
    family: int | None = None
    model_number: int | None = None
    flags: frozenset = frozenset()
    mhz: float | None = None
    cores: int = 1


@dataclasses.dataclass(frozen=True)
class Gpu:
    """A GPU TensorFlow sees; compute_capability as (major, minor) when known."""
    name: str = "GPU"
    compute_capability: tuple | None = None


@dataclasses.dataclass(frozen=True)
class Machine:
    cpu: Cpu = Cpu()
    gpus: tuple = ()
    memory_bytes: int | None = None
    onednn_max_isa: str | None = None  # $ONEDNN_MAX_CPU_ISA, upper-cased, None if unset.
    onednn_enabled: bool = True  # False with TF_ENABLE_ONEDNN_OPTS=0.


def parse_cpuinfo(text, cores=None):
    """A Cpu from the text of /proc/cpuinfo (its first processor's block)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key in fields:
            continue
        fields[key] = value.strip()

    def number(key, kind):
        try:
            return kind(fields[key])
        except (KeyError, ValueError):
            return None

    return Cpu(model=fields.get("model name", "unknown"),
               vendor=fields.get("vendor_id", "unknown"),
               family=number("cpu family", int), model_number=number("model", int),
               flags=frozenset(fields.get("flags", "").split()), mhz=number("cpu MHz", float),
               cores=cores or usable_cores())


def usable_cores():
    """The processors this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_info(path="/proc/cpuinfo"):
    try:
        with open(path) as f:  # Local: this machine's /proc.
            return parse_cpuinfo(f.read())
    except OSError:
        return Cpu(cores=usable_cores())


def memory_bytes():
    """Physical memory, or the cgroup's limit if that is lower (containers)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:  # Local: this machine's cgroup files.
                limit = f.read().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def gpus():
    """The GPUs TensorFlow sees, with their compute capability (CUDA) when reported."""
    import tensorflow as tf  # Only here: the rest of the module is plain Python.

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        found.append(Gpu(name=details.get("device_name", device.name),
                         compute_capability=details.get("compute_capability")))
    return tuple(found)


def probe(environ=None, with_gpus=True):
    """The Machine this process runs on (with_gpus=False: skip asking TensorFlow)."""
    environ = os.environ if environ is None else environ
    isa = environ.get(ONEDNN_ISA_ENV) or environ.get("DNNL_MAX_CPU_ISA")
    return Machine(cpu=cpu_info(), gpus=gpus() if with_gpus else (),
                   memory_bytes=memory_bytes(), onednn_max_isa=isa.upper() if isa else None,
                   onednn_enabled=environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false"))


def isa_at_least(cap, level):
    """Whether oneDNN capped at `cap` ($ONEDNN_MAX_CPU_ISA; None, ALL, DEFAULT:
    no cap) may use `level`. An unknown cap counts as no cap."""
    if cap is None or cap not in ONEDNN_ISA_LEVELS:
        return True
    return ONEDNN_ISA_LEVELS.index(cap) >= ONEDNN_ISA_LEVELS.index(level)


def bfloat16_native(cpu_flags, onednn_max_isa=None, onednn_enabled=True):
    """Whether TensorFlow's oneDNN kernels run bfloat16 in hardware on a CPU
    with `cpu_flags`, under the cap `onednn_max_isa` ($ONEDNN_MAX_CPU_ISA)."""
    return onednn_enabled and (
        ("avx512_bf16" in cpu_flags and isa_at_least(onednn_max_isa, "AVX512_CORE_BF16"))
        or ("amx_bf16" in cpu_flags and isa_at_least(onednn_max_isa, "AVX512_CORE_AMX")))


# The flags that decide the speed settings and that every recorded figure names.
FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def flags_of_interest(cpu: Cpu) -> list:
    """The flags of FLAGS_OF_INTEREST that `cpu` has."""
    return [flag for flag in FLAGS_OF_INTEREST if flag in cpu.flags]


def describe(machine: Machine) -> str:
    """One line: CPU model, family/model, cores, the flags of interest, cap, memory, GPUs."""
    cpu = machine.cpu
    parts = [f"{cpu.model} (family {cpu.family} model {cpu.model_number})",
             f"{cpu.cores} cores", "flags " + (" ".join(flags_of_interest(cpu)) or "none")]
    if machine.onednn_max_isa:
        parts.append(f"{ONEDNN_ISA_ENV}={machine.onednn_max_isa}")
    if not machine.onednn_enabled:
        parts.append("oneDNN off")
    if machine.memory_bytes:
        parts.append(f"{machine.memory_bytes / 2 ** 30:.0f} GiB")
    parts.append(", ".join(f"{gpu.name} (compute capability "
                           f"{'.'.join(map(str, gpu.compute_capability or ('?',)))})"
                           for gpu in machine.gpus) or "no GPU")
    return ", ".join(parts)

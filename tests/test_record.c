/* test_record.c: the record parser, writer and describer. */
#include "tap.h"
#include "tlp.h"
#include "train/train_int.h"
#include "differential.h"

#define GPU_HDR "[\"[\\\"k\\\", 1]\", \"cuda -keys=cuda,gpu\", [-1, 16, 64, 49152, 2147483647, 1024, 8, 32], \"\", 0, []]"
#define REC(steps, result) "{\"i\": [" GPU_HDR ", [[], [" steps "]]], \"r\": " result ", \"v\": \"v0.6\"}"
#define OKRES "[[0.5, 0.25], 0, 1.5, 1600000000]"

static tlp_status parse(tlp_record *r, const char *s, tlp_error *e)
{
    return tlp_record_parse(r, s, strlen(s), e);
}

static void test_degenerate(void)
{
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    is_int(tlp_record_parse(&r, "", 0, &e), TLP_JSON, "empty line is broken JSON");
    is_int(parse(&r, "{", &e), TLP_JSON, "truncated object");
    is_int(parse(&r, "[]", &e), TLP_LAYOUT, "array instead of object");
    is_int(parse(&r, "{}", &e), TLP_LAYOUT, "object without i");
    is_int(parse(&r, "{\"i\": 1, \"r\": 2}", &e), TLP_LAYOUT, "i not an array");
    is_int(tlp_record_parse(&r, "{\"i\"\0:1}", 8, &e), TLP_NUL, "NUL byte");
    tlp_record_free(&r);
    tlp_record_free(&r); /* twice is fine */
    tlp_record_free(NULL);
    ok(1, "free accepts NULL");
}

static void test_every_kind(void)
{
    const char *line = REC("[\"AN\", 1, 2, 3], [\"FU\", 1, [0, 1, 2]], [\"PR\", 1, 0, \"auto_unroll_max_step$64\"], "
                           "[\"RE\", 1, [2, 1, 0]], [\"SP\", 1, 0, 256, [4, 8], 1], [\"FSP\", 2, 0, 4, 2], "
                           "[\"FFSP\", 2, 0, [4, 5], 1, 0], [\"SA\", 2, 1, 32, 4], [\"CA\", 1, 2, 3], [\"CI\", 4], "
                           "[\"CR\", 5], [\"CHR\", 0, \"shared\", [1, 2]], [\"CHW\", 1, \"local\"], [\"RF\", 1, 2, 3]",
                           OKRES);
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    tlp_status s = parse(&r, line, &e);
    if (!ok(s == TLP_OK, "a record with all 14 step kinds parses")) printf("# %s\n", e.msg);
    is_int(r.n_steps, 14, "14 steps");
    for (int k = 0; k < TLP_STEP_COUNT && k < (int)r.n_steps; k++) is_int(r.steps[k].kind, k, tlp_step_tag((tlp_step_kind)k));
    is_int(r.steps[4].n_vals, 6, "SP has stage iter extent 2 lengths inner_to_outer");
    is_int(r.steps[4].list_len, 2, "SP list length");
    is_int(r.vals[r.steps[4].val_off + 2], 256, "SP extent");
    is_str(r.strs + r.steps[2].str, "auto_unroll_max_step$64", "PR string kept");
    is_str(r.strs + r.steps[11].str, "shared", "CHR scope kept");
    is_int(r.n_costs, 2, "two costs");
    is_dbl(tlp_mean(r.costs, r.n_costs), 0.375, 0, "mean cost");
    is_int(r.n_task_fields, 6, "six task fields");
    is_int(r.n_hw, 8, "eight hardware params");
    is_int(r.hw[4], 2147483647, "max_local_memory_per_block");
    is_str(r.version, "v0.6", "version");

    static const char *const want[] = {
        "annotate stage 1 iter 2: parallel",
        "fuse stage 1 iters [0,1,2]",
        "pragma stage 1 iter 0: auto_unroll_max_step$64",
        "reorder stage 1: [2,1,0]",
        "split stage 1 iter 0: 256 -> [4,8]",
        "follow_split stage 2 iter 0: like step 4, 2 parts",
        "follow_fused_split stage 2 iter 0: steps [4,5] level 1 nparts",
        "storage_align stage 2 iter 1: factor 32 offset 4",
        "compute_at stage 1 -> stage 2 iter 3",
        "compute_inline stage 4",
        "compute_root stage 5",
        "cache_read stage 0 \"shared\" readers [1,2]",
        "cache_write stage 1 \"local\"",
        "rfactor stage 1 iter 2 factor_iter 3",
    };
    for (size_t i = 0; i < 14 && i < r.n_steps; i++) {
        char buf[256];
        tlp_step_describe(&r, i, buf, sizeof buf);
        is_str(buf, want[i], "describe");
    }

    /* round trip: write, parse again, write again: same text, same values */
    char *j1 = tlp_record_to_json(&r);
    ok(j1 != NULL, "written");
    is_str(j1, line, "the written line equals TVM's layout of the input");
    tlp_record r2;
    tlp_record_init(&r2);
    is_int(parse(&r2, j1, &e), TLP_OK, "the written line parses");
    char *j2 = tlp_record_to_json(&r2);
    is_str(j2, j1, "round trip is stable");
    ok(r2.n_vals == r.n_vals && memcmp(r2.vals, r.vals, r.n_vals * sizeof *r.vals) == 0, "same values after the round trip");
    free(j1);
    free(j2);
    tlp_record_free(&r2);
    tlp_record_free(&r);
}

static void test_header_variants(void)
{
    tlp_record r;
    tlp_record_init(&r);
    tlp_error e = {0};
    const char *v03 = "{\"i\": [[\"[\\\"m\\\", 1]\", \"llvm -keys=cpu\", [4, 64, 64, 0, 0, 0, 0, 0]], [[], "
                      "[[\"CI\", 1]]]], \"r\": [[0.001], 0, 0.5, 1607112214], \"v\": \"v0.3\"}";
    const char *v2 = "{\"i\": [[\"[\\\"m\\\", 1]\", \"llvm\"], [[], []]], \"r\": [[0.001], 0, 0.5, 1]}";
    const char *v05 = "{\"i\": [[\"[\\\"m\\\", 1]\", \"llvm\", [1], \"llvm\", 2], [[], []]], \"r\": [[1e-05, 2e-05], 0, 0.125, 7], \"v\": \"v0.5\"}";
    const char *lines[] = {v03, v2, v05};
    int fields[] = {3, 2, 5};
    for (int i = 0; i < 3; i++) {
        is_int(parse(&r, lines[i], &e), TLP_OK, "header variant parses");
        is_int(r.n_task_fields, fields[i], "task field count kept");
        char *j = tlp_record_to_json(&r);
        is_str(j, lines[i], "header variant round trips byte for byte");
        free(j);
    }
    tlp_record_free(&r);
}

typedef struct {
    const char *line;
    tlp_status want;
    const char *what;
} bad_case;

static void test_malformed(void)
{
    static const bad_case cases[] = {
        {REC("[\"XX\", 1]", OKRES), TLP_UNKNOWN_STEP, "unknown step kind"},
        {REC("[\"SP\", 1, 0, 256, [4], 1, 9]", OKRES), TLP_STEP, "SP with an extra field"},
        {REC("[\"SP\", 1, 0, 256, 4, 1]", OKRES), TLP_STEP, "SP lengths not a list"},
        {REC("[\"AN\", 1, 2]", OKRES), TLP_STEP, "AN short of a field"},
        {REC("[\"AN\", 1, \"2\", 3]", OKRES), TLP_STEP, "string where an int goes"},
        {REC("[\"AN\", 1, 2.5, 3]", OKRES), TLP_NUMBER, "fractional int"},
        {REC("[\"AN\", 1, -2, 3]", OKRES), TLP_NUMBER, "negative id"},
        {REC("[\"AN\", 1, 1e300, 3]", OKRES), TLP_NUMBER, "huge number"},
        {REC("[\"AN\", 1, 1e999, 3]", OKRES), TLP_NUMBER, "overflowing number"},
        {REC("[\"AN\", 1, true, 3]", OKRES), TLP_STEP, "boolean where an int goes"},
        {REC("[\"PR\", 1, 0, 64]", OKRES), TLP_STEP, "PR with an int pragma"},
        {REC("[\"CHW\", 1, null]", OKRES), TLP_STEP, "null scope"},
        {REC("7", OKRES), TLP_STEP, "a step that is not an array"},
        {REC("[]", OKRES), TLP_STEP, "empty step"},
        {REC("[\"CI\", 1]", "[[-0.5], 0, 1, 1]"), TLP_COST, "negative cost"},
        {REC("[\"CI\", 1]", "[[0], 0, 1, 1]"), TLP_COST, "zero cost"},
        {REC("[\"CI\", 1]", "[[1e999], 0, 1, 1]"), TLP_COST, "infinite cost"},
        {REC("[\"CI\", 1]", "[[1e-320], 0, 1, 1]"), TLP_COST, "a subnormal cost (below a picosecond: no measurement)"},
        {REC("[\"CI\", 1]", "[[], 0, 1, 1]"), TLP_COST, "no cost"},
        {REC("[\"CI\", 1]", "[[\"1\"], 0, 1, 1]"), TLP_COST, "string cost"},
        {REC("[\"CI\", 1]", "[[1e11], 0, 1, 1]"), TLP_COST, "cost above the failure cost"},
        {REC("[\"CI\", 1]", "[[0.1], -1, 1, 1]"), TLP_LAYOUT, "negative error_no"},
        {REC("[\"CI\", 1]", "[[0.1], 0, 1]"), TLP_LAYOUT, "short result"},
        {"{\"i\": [[\"k\", \"llvm\"], [[], []]], \"r\": [[0.1], 0, 1, 1], \"x\": 1}", TLP_LAYOUT, "unknown key"},
        {"{\"i\": [[\"k\"], [[], []]], \"r\": [[0.1], 0, 1, 1]}", TLP_LAYOUT, "task without target"},
        {"{\"i\": [[1, \"llvm\"], [[], []]], \"r\": [[0.1], 0, 1, 1]}", TLP_LAYOUT, "numeric workload key"},
        {"{\"i\": [[\"k\", \"llvm\"], [[]]], \"r\": [[0.1], 0, 1, 1]}", TLP_LAYOUT, "state without steps"},
        {"{\"i\": [[\"k\", \"llvm\"], [[], []]], \"r\": [[0.1], 0, 1, 1]} x", TLP_JSON, "trailing garbage"},
        {"{\"i\": [[\"k\", \"llvm\"], [[], []]], \"r\": [[0.1], 0, 1, 1]", TLP_JSON, "truncated line"},
        {"{\"i\": [[\"k\", \"llvm\"], [[], [[\"CI\", 1]]]], \"r\": [[0.1], 0, 1, 1], \"v\": 6}", TLP_LAYOUT, "numeric version"},
    };
    tlp_record r;
    tlp_record_init(&r);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tlp_error e = {0};
        tlp_status s = parse(&r, cases[i].line, &e);
        if (!ok(s == cases[i].want, cases[i].what))
            printf("#   got %s (%s), want %s\n", tlp_status_id(s), e.msg, tlp_status_id(cases[i].want));
        ok(s == TLP_OK || e.msg[0], "a failure says why");
    }
    /* deep nesting: cJSON refuses beyond its limit; we must not crash */
    size_t n = 200000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    tlp_error e = {0};
    ok(parse(&r, deep, &e) != TLP_OK, "200000-deep nesting is refused");
    free(deep);
    /* the parser recovers: a good line after bad ones */
    is_int(parse(&r, REC("[\"CI\", 1]", OKRES), &e), TLP_OK, "a good line after bad ones parses");
    is_int(r.n_steps, 1, "and has its step");
    tlp_record_free(&r);
}

static void test_mean(void)
{
    /* numpy's np.mean on the same arrays, from tests/make_golden.py */
    const char *dir = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/golden.txt", dir ? dir : ".");
    FILE *f = fopen(path, "r");
    if (!ok(f != NULL, "golden.txt opens")) return;
    char *line = NULL;
    size_t cap = 0;
    int checked = 0, exact = 1;
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "mean ", 5) != 0) continue;
        char *p = line + 5, *end;
        long n = strtol(p, &end, 10);
        p = end;
        double *x = malloc(sizeof(double) * (size_t)n);
        for (long i = 0; i < n; i++) {
            x[i] = strtod(p, &end);
            p = end;
        }
        double want = strtod(p, &end);
        double got = tlp_mean(x, (size_t)n);
        if (got != want) {
            exact = 0;
            printf("#   n=%ld got %a want %a\n", n, got, want);
        }
        checked++;
        free(x);
    }
    free(line);
    fclose(f);
    ok(checked >= 10 && exact, "tlp_mean equals numpy's mean bit for bit");
}

/* Both parse paths on every line of the fixtures: where the scanner accepts,
 * the tree path reads the same record; TVM-layout lines take the fast path. */
static void test_differential(void)
{
    const char *dir = getenv("top_srcdir");
    const char *files[] = {"records/gpu-x/conv.json", "records/gpu-x/dense.json", "records/cpu-y/matmul.log",
                           "malformed/bad.json"};
    diff_counts c = {0, 0, 0};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fixtures/%s", dir ? dir : ".", files[i]);
        diff_file(path, &c);
    }
    tlp_record a, b;
    tlp_record_init(&a);
    tlp_record_init(&b);
    int agree = c.differ == 0, fast = (int)c.fast, lines = (int)c.lines;
    ok(agree, "where the fast scanner accepts a line, the cJSON path reads the same record");
    ok(fast >= 10 && fast < lines, "TVM-layout lines take the fast path, malformed ones do not");
    /* a line the scanner declines still parses through the tree path */
    const char *reordered = "{\"r\": [[0.5], 0, 1, 2], \"i\": [[\"k\", \"llvm\"], [[], [[\"CI\", 1]]]]}";
    ok(!tlp__record_parse_fast(&a, reordered, strlen(reordered)), "keys out of TVM's order: the scanner declines");
    tlp_error e = {0};
    is_int(tlp_record_parse(&a, reordered, strlen(reordered), &e), TLP_OK, "and the record still parses");
    const char *uesc = "{\"i\": [[\"\\u006b\", \"llvm\"], [[], []]], \"r\": [[0.5], 0, 1, 2]}";
    is_int(tlp_record_parse(&a, uesc, strlen(uesc), &e), TLP_OK, "a \\u escape parses (tree path)");
    is_str(a.workload_key, "k", "and is decoded");
    tlp_record_free(&a);
    tlp_record_free(&b);
}

/* tlp_escape: nothing unsafe survives, the text comes back, UTF-8 stays. */
static void test_escape(void)
{
    char out[64];
    tlp_escape(out, sizeof out, "a\tb\nc\\d\x1b[2J", 11);
    is_str(out, "a\\tb\\nc\\\\d\\x1b[2J", "tab, newline, backslash, ESC");
    tlp_escape(out, sizeof out, "caf\xc3\xa9 \xc2\x9b \xff", 10);
    is_str(out, "caf\xc3\xa9 \\xc2\\x9b \\xff", "UTF-8 kept; a C1 control and a stray byte escaped");
    is_int(tlp_escape(out, 4, "abcdef", 6), 6, "the length it wanted");
    is_str(out, "abc", "cut to the buffer");
    tlp_rng r;
    tlp_rng_seed(&r, 5);
    int bad = 0, unsafe = 0;
    for (int t = 0; t < 2000; t++) {
        char in[40], *e;
        size_t n = 1 + tlp_rng_below(&r, 39);
        for (size_t i = 0; i < n; i++) in[i] = (char)(1 + tlp_rng_below(&r, 255));
        in[n] = 0;
        e = tlp_escape_dup(in);
        for (const unsigned char *p = (const unsigned char *)e; *p; p++) {
            unsafe += *p < 0x20 || *p == 0x7f;
            unsafe += p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0;
        }
        tlp_unescape(e);
        bad += strcmp(e, in) != 0;
        free(e);
    }
    is_int(unsafe, 0, "2000 random strings: no control byte and no C1 control escapes");
    is_int(bad, 0, "and each comes back from tlp_unescape");
}

/* The keys TVM's ApplyHistoryBest files a record of a target under
 * (dispatcher.py; the kinds' defaults of src/target/target_kind.cc). */
static void test_target_keys(void)
{
    static const struct {
        const char *target, *want;
    } cases[] = {
        {"cuda -keys=cuda,gpu -max_num_threads=1024 -thread_warp_size=32", "cuda gpu"},
        {"cuda -max_num_threads=1024", "cuda gpu"},
        {"rocm -keys=rocm,gpu -max_num_threads=256 -mcpu=gfx906", "rocm gpu"},
        {"llvm -mcpu=core-avx2", "cpu"},
        {"llvm -keys=cpu -link-params=0 -mcpu=skylake-avx512 -model=platinum-8272", "cpu model=platinum-8272"},
        {"llvm -keys=arm_cpu,cpu -model=unknown", "arm_cpu cpu"},
        {"cuda -device=tesla -model=v100", "tesla cuda gpu model=v100"},
        {"cuda -keys=gpu,gpu", "gpu"},
        {"opencl", "opencl gpu"},
        {"newkind -x=1", "newkind"},
        {"llvm -mkeys=x -mmodel=y", "cpu"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char keys[TLP_MAX_DISPATCH][TLP_DISPATCH_KEY], got[256] = "";
        int n = tlp_target_keys(cases[i].target, keys, TLP_MAX_DISPATCH);
        for (int k = 0; k < n; k++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", keys[k]);
        char what[160];
        snprintf(what, sizeof what, "TVM keys of \"%s\"", cases[i].target);
        is_str(got, cases[i].want, what);
    }
    char keys[2][TLP_DISPATCH_KEY];
    is_int(tlp_target_keys("cuda -device=a -model=b", keys, 2), 2, "at most max keys");
}

int main(void)
{
    test_target_keys();
    test_escape();
    test_differential();
    test_degenerate();
    test_every_kind();
    test_header_variants();
    test_malformed();
    test_mean();
    is_str(tlp_error_no_name(6), "BUILD_TIMEOUT", "error name");
    is_str(tlp_error_no_name(42), "ERROR_42", "unknown error name");
    is_int(tlp_step_kind_of("FFSP"), TLP_STEP_FFSP, "kind of tag");
    is_int(tlp_step_kind_of("ffsp"), -1, "tags are case-sensitive");
    return tap_done();
}

/* train_settings.c: `tlpx train`'s options and what the command line and
 * the explorer's :train share about a training's settings.  The settings
 * themselves (names, values, bounds, help) are the engine's table,
 * engine/train/settings.def, parsed by tlp_train_set; the option table
 * below is made from it, beside train's own options. */
#include "cli.h"
#include "train_settings.h"

#include <string.h>

void cli_train_nets_of(tlp_train_opts *o, const tlp_model *m)
{
    o->n_nets = tlp_model_n_members(m);
    for (int k = 0; k < o->n_nets; k++) o->encode[k] = tlp_model_config_of(tlp_model_member(m, k))->encode;
}

const char *cli_encodes(const tlp_encode *e, int n, char *buf, size_t cap)
{
    size_t w = 0;
    buf[0] = 0;
    for (int k = 0; k < n && w < cap; k++)
        w += (size_t)snprintf(buf + w, cap - w, "%s%s", k ? "," : "", tlp_encode_name(e[k]));
    return buf;
}

void cli_train_resumed(tlp_train_opts *o, tlp_mode m, const tlp_train_meta *meta)
{
    o->mode = m;
    tlp_train_opts_of_meta(o, meta);
}

const cli_opt CLI_TRAIN_OPTS[] = {
    {"--out", "-o", "MODEL", "write the kept model here (atomically), with the state to resume it"},
    {"--recipe", NULL, "NAME", "tlpx (default: the measured better recipe) or tlp (TLP's own)"},
#define SETTING(name, field, kind, choices, lo, hi, custom, checked, short, arg, what, help) {"--" name, short, arg, help},
#include "train/settings.def"
#undef SETTING
    {"--mode", NULL, "cpu|gpu", "which records, when DATA holds both"},
    {"--resume", NULL, "MODEL", "continue a training from its saved model and state on the same DATA (other data is refused), as if it had not stopped"},
    {"--init", NULL, "MODEL", "start from MODEL's weights (fine-tuning); heads it lacks start fresh"},
    {"--weights-only", NULL, NULL,
     "save no Adam state (nor the averaged epochs' weights): a third of the size or less, but no --resume"},
    {NULL, NULL, NULL, NULL},
};

int cli_settings_add(cli_settings *s, const cli_cmd *cmd, const cli_opt *o, const char *val)
{
    if (s->n == (int)(sizeof s->keys / sizeof s->keys[0])) return cli_usage_error(cmd, "too many settings");
    s->keys[s->n] = o->name + 2;
    s->vals[s->n++] = val;
    return 0;
}

int cli_settings_apply(const cli_settings *s, const cli_cmd *cmd, tlp_train_opts *o)
{
    for (int i = 0; i < s->n; i++) {
        tlp_error se = {0};
        if (tlp_train_set(o, s->keys[i], s->vals[i], &se) != TLP_OK) return cli_usage_error(cmd, "--%s", se.msg);
    }
    return 0;
}

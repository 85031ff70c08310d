/* models.c: the actions on the model families: the active head and the
 * compare head, the family in use, training (the settings of `tlpx train`
 * parsed here, the job started by the loop: app_start_train), cancelling a
 * job, and scoring again. */
#include "explore.h"

#include <stdlib.h>
#include <string.h>

static void switch_head(app_t *a, int h)
{
    family_t *f = app_fam(a);
    f->prev_head = f->head;
    f->head = h;
    free(f->was); /* "was" is the head before now, no longer the model before a training */
    f->was = NULL;
    app_compute_scores(a);
    app_sort_tasks(a);
    if (a->task >= 0) {
        app_rank_task_now(a);
        app_sort_cands(a);
    }
    if (h == HEAD_OWN) app_message(a, "head own: each task scored by its hardware's head");
    else app_message(a, "head %s: every task scored by it", app_head_name(f, h));
}

/* The key: the next head (each task's own, then every head in turn); :head
 * NAME: that one, :head own: each task's own. */
void tui_models_head(app_t *a, const char *arg)
{
    family_t *f = app_fam(a);
    if (!f->model) {
        app_message(a, "no %s model loaded (:load MODEL or :train)", tlp_mode_name(a->mode));
        return;
    }
    const tlp_model_config *c = tlp_model_config_of(f->model);
    int h = f->head == HEAD_OWN ? 0 : f->head + 1 < c->n_heads ? f->head + 1 : HEAD_OWN;
    if (arg && *arg && !strcmp(arg, "own")) h = HEAD_OWN;
    else if (arg && *arg && (h = tlp_model_head(f->model, arg)) < 0) {
        char heads[256] = "";
        for (int k = 0; k < c->n_heads; k++) {
            strncat(heads, " ", sizeof heads - strlen(heads) - 1);
            strncat(heads, c->heads[k], sizeof heads - strlen(heads) - 1);
        }
        app_message(a, "no head \"%s\"; the %s model has:%s (or own: each task's)", arg, tlp_mode_name(a->mode), heads);
        return;
    }
    switch_head(a, h);
}

/* The key toggles the compare column (the next head); :compare HEAD sets it. */
void tui_models_compare(app_t *a, const char *arg)
{
    family_t *f = app_fam(a);
    if (!f->model) {
        app_message(a, "no model loaded");
        return;
    }
    if (arg && *arg) {
        int h = tlp_model_head(f->model, arg);
        if (h < 0) {
            app_message(a, "no head \"%s\"", arg);
            return;
        }
        f->cmp_head = h;
    } else if (f->cmp_head >= 0)
        f->cmp_head = -1;
    else { /* the head after the one scoring the task in view */
        long t = app_task_in_view(a);
        int h = t >= 0 ? app_head(f, f->head, tlp_dataset_task(a->ds, (size_t)t)) : 0;
        f->cmp_head = (h + 1) % tlp_model_config_of(f->model)->n_heads;
    }
    app_compute_scores(a); /* the task list's compare columns */
    app_sort_tasks(a);
    if (a->task >= 0) app_rank_task_now(a);
    app_message(a, f->cmp_head >= 0 ? "compare with head %s (:sort agree: where they disagree first)" : "compare off%s",
                f->cmp_head >= 0 ? tlp_model_config_of(f->model)->heads[f->cmp_head] : "");
}

void tui_models_mode(app_t *a, const char *arg)
{
    tlp_mode m = a->mode == TLP_MODE_CPU ? TLP_MODE_GPU : TLP_MODE_CPU;
    if (arg && *arg) m = !strcmp(arg, "cpu") ? TLP_MODE_CPU : TLP_MODE_GPU;
    a->mode = m;
    app_compute_scores(a);
    app_message(a, "%s family: %s", tlp_mode_name(m), a->fam[m].model ? a->fam[m].path : "no model");
}

/* :train's words into o: the default recipe with 10 epochs, then the recipe
 * given, then the other settings in order (tlp_train_set, as `tlpx train`);
 * "fresh" sets *fresh.  0, or -1 after saying why. */
static int train_settings(app_t *a, const char *args, tlp_train_opts *o, int *fresh)
{
    tlp_train_recipe(o, a->mode, TLP_RECIPE_DEFAULT);
    o->epochs = 10;
    o->threads = cli_default_threads();
    char buf[512];
    *fresh = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(buf, sizeof buf, "%s", args ? args : "");
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(w, '=');
            if (eq) *eq = 0;
            if ((pass == 0) != !strcmp(w, "recipe")) continue;
            if (!strcmp(w, "fresh") && !eq) {
                *fresh = 1;
                continue;
            }
            tlp_error se = {0};
            if (tlp_train_set(o, w, eq ? eq + 1 : NULL, &se) != TLP_OK) {
                app_message(a, "train: %s", se.msg);
                return -1;
            }
            if (pass == 0) o->epochs = 10; /* the explorer's default, unless epochs= follows */
        }
    }
    return 0;
}

void tui_models_train(app_t *a, const char *arg)
{
    if (a->train) {
        app_message(a, "a training is already running (:cancel stops it)");
        return;
    }
    tlp_train_opts o;
    int fresh;
    snprintf(a->train_note, sizeof a->train_note, "tlpx %s explore :train%s%s", PACKAGE_VERSION, arg && *arg ? " " : "",
             arg ? arg : "");
    if (train_settings(a, arg, &o, &fresh) == 0) app_start_train(a, &o, fresh);
}

void tui_models_cancel(app_t *a, const char *arg)
{
    family_t *f = app_fam(a);
    if (a->train) {
        tlp_job_cancel(a->train); /* the loop takes its end (app_poll_jobs) */
        app_message(a, "cancelling...");
    } else if (f->predict) { /* scoring a big dataset: stop it, keep the ranks already made */
        app_stop_predict(f);
        int done = 0, all = 0;
        for (size_t t = 0; t < tlp_dataset_n_tasks(a->ds); t++)
            if (tlp_dataset_task(a->ds, t)->mode == a->mode) all++, done += f->done[t];
        app_compute_scores(a);
        app_message(a, "scoring cancelled: %d of %d tasks ranked (:eval scores again)", done, all);
    } else
        app_message(a, "no training or scoring is running");
}

void tui_models_eval(app_t *a, const char *arg)
{
    for (int m = 0; m < TLP_MODE_COUNT; m++) app_start_predict(a, (tlp_mode)m);
    app_message(a, "recomputing predictions");
}

/*
 * commands.c: keys and :commands to actions.  Every key and command is an
 * action of actions.def; app_key finds a key's action (or feeds the prompt
 * while it is open), app_command a command line's, and app_do calls the
 * action's function from the table below, as tig's requests and htop's
 * actions work.  What an action does is in its function (nav.c, find.c,
 * models.c, files.c).
 */
#include "explore.h"

#include <stdlib.h>
#include <string.h>

typedef void action_fn(app_t *a, const char *arg);

static action_fn *const DO[ACT_COUNT] = {
#define X(id, fn, k1, k2, cmd, args, help) fn,
#include "actions.def"
#undef X
};

void app_do(app_t *a, action_id act, const char *arg)
{
    if (act >= 0 && act < ACT_COUNT) DO[act](a, arg);
}

void app_command(app_t *a, const char *line)
{
    while (*line == ' ' || *line == ':') line++;
    if (!*line) return;
    char name[64];
    size_t n = strcspn(line, " ");
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, line, n);
    name[n] = 0;
    const char *from = line + n;
    while (*from == ' ') from++;
    char *arg = strdup(from); /* without the blanks after it (completion leaves one) */
    if (!arg) {
        app_message(a, "out of memory");
        return;
    }
    for (size_t k = strlen(arg); k && (arg[k - 1] == ' ' || arg[k - 1] == '\t'); k--) arg[k - 1] = 0;
    for (int i = 0; i < ACT_COUNT; i++)
        if (ACTIONS[i].cmd && !strcmp(ACTIONS[i].cmd, name)) {
            app_do(a, (action_id)i, arg); /* "" for none; keys pass NULL */
            free(arg);
            return;
        }
    free(arg);
    if (!strcmp(name, "q")) {
        app_do(a, ACT_QUIT, NULL);
        return;
    }
    app_message(a, "unknown command \"%s\" (? lists them)", name);
}

void app_key(app_t *a, int key)
{
    if (a->prompt_active) {
        char *line = prompt_key(a, key);
        if (line) {
            a->msg[0] = 0;
            app_command(a, line);
            free(line);
        }
        return;
    }
    if (key == KEY_RESIZE) return;
    if (a->confirm_quit) {
        a->confirm_quit = 0;
        if (key == 'y' || key == 'Y') a->quit = 1;
        else app_message(a, "not quitting");
        return;
    }
    for (int i = 0; i < ACT_COUNT; i++)
        if ((ACTIONS[i].key && ACTIONS[i].key == key) || (ACTIONS[i].key2 && ACTIONS[i].key2 == key)) {
            app_do(a, (action_id)i, NULL);
            return;
        }
    if (key == '\r') app_do(a, ACT_ENTER, NULL);
}

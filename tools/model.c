/* model.c — model files in either format for the `libnn` tool: libnn's own
 * (docs/FORMAT.md) and ONNX (docs/ONNX.md), told apart by their first
 * byte; and the import / export subcommands between the two. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const import_help =
"usage: libnn import MODEL.onnx -o MODEL.nnm\n"
"\n"
"Convert an ONNX model into a libnn model file. The graph must be a chain\n"
"of dense layers (Gemm, or MatMul + Add), each followed by at most one of\n"
"Relu, LeakyRelu, Sigmoid, Tanh, Softmax, as torch.onnx.export writes an\n"
"nn.Sequential of Linear layers and activations; see docs/ONNX.md. The\n"
"loss follows the output activation (sigmoid: bce, softmax: ce, else mse).\n"
"MODEL may be '-' (stdin), a pipe or a FIFO. ONNX models may also be given\n"
"to eval, predict, info and export directly.\n"
"\n"
"  -o, --output FILE   the model file to write (required; '-': stdout); a\n"
"                      file is replaced atomically\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

static const char *const export_help =
"usage: libnn export MODEL -o OUT.onnx [--logits] [--unscaled]\n"
"\n"
"Write MODEL (a libnn model file, or ONNX) as an ONNX model: IR version 7,\n"
"opset 13, float64 weights, input \"input\" [batch, inputs], output\n"
"\"output\" [batch, outputs], one Gemm per layer and its activation. The\n"
"model's input scaling is folded into the first layer and the inverse of\n"
"its target scaling into the (identity) output layer, so that the ONNX\n"
"model computes from the raw rows what 'libnn predict' prints. The\n"
"optimizer is not exported. MODEL may be '-' (stdin), a pipe or a FIFO.\n"
"\n"
"  -o, --output FILE   the ONNX file to write (required; '-': stdout); a\n"
"                      file is replaced atomically\n"
"  --logits            end the graph at the output layer's logits (leave\n"
"                      out its softmax or sigmoid)\n"
"  --unscaled          leave the scalings out: the ONNX model then expects\n"
"                      scaled inputs and gives scaled targets\n"
"  --threads N         BLAS threads (default: the BLAS library's)\n"
"  -h, --help          this help\n";

/* ------------------------------------------------------------ loading */
/* Whether libnn was built with the onnx feature: without it every
 * nn_onnx_* call returns NN_ERR_UNSUPPORTED, even for a NULL network
 * (which is NN_ERR_INVALID otherwise). */
static bool onnx_built(void)
{
    size_t size = 0;
    return nn_onnx_save_mem(NULL, 0, NULL, 0, &size) != NN_ERR_UNSUPPORTED;
}

/* The words of a failed load's message. */
static const char *load_what(int kind, nn_status st)
{
    if (st == NN_ERR_IO) return "cannot read the model";
    if (kind == CLI_MODEL_NATIVE)
        return st == NN_ERR_UNSUPPORTED ? "model file of a newer format "
                                          "version"
               : st == NN_ERR_FORMAT    ? "not a valid model file"
                                        : "cannot load the model";
    return st == NN_ERR_UNSUPPORTED ? "an ONNX model libnn cannot import"
           : st == NN_ERR_FORMAT    ? "not a valid model file (neither "
                                      "libnn's format nor valid ONNX)"
                                    : "cannot load the ONNX model";
}

/* A regular file is loaded by name (the loaders check its size before
 * reading it whole), anything else (stdin "-", a FIFO, a pipe) read once
 * into memory first. */
int cli_load_model(const char *path, nn_net_t **net, nn_optim_t **opt,
                   int *kind_out)
{
    nn_error_info err;
    memset(&err, 0, sizeof err);
    bool regular = false;
    int kind = CLI_MODEL_NATIVE;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = cli_read_model_stream("MODEL", path, &regular, &kind, &buf, &len);
    if (rc) return rc;
    nn_status st;
    if (kind == CLI_MODEL_NATIVE)
        st = regular ? nn_model_load(path, net, opt, NULL, &err)
                     : nn_model_load_mem(buf, len, net, opt, NULL, &err);
    else
        st = regular ? nn_onnx_load(net, path, NULL, &err)
                     : nn_onnx_load_mem(net, buf, len, NULL, &err);
    free(buf);
    if (!st) {
        if (kind == CLI_MODEL_ONNX && opt) *opt = NULL;
        if (kind_out) *kind_out = kind;
        return 0;
    }
    if (kind == CLI_MODEL_ONNX && st == NN_ERR_UNSUPPORTED && !onnx_built())
        return cli_error("%s: not a valid model file (not libnn's format; "
                         "this libnn was built without ONNX support)",
                         cli_in_shown(path));
    err.offset = 0; /* a field's position helps nobody */
    return cli_lib_error(load_what(kind, st), path, st, &err);
}

/* ------------------------------------------------------------ shared */
typedef struct conv_args {
    const char *cmd, *model, *output;
    bool logits, unscaled;
} conv_args;

enum { C_OUTPUT = 1, C_LOGITS, C_UNSCALED, C_HELP };

static int conv_opt(void *ctx, const cli_opt *o, const char *v)
{
    conv_args *a = ctx;
    if (!o) {
        if (a->model)
            return cli_usage_error(a->cmd, "unexpected argument '%s'",
                                   cli_cap(v));
        a->model = v;
        return 0;
    }
    switch (o->id) {
    case C_OUTPUT: a->output = v; return 0;
    case C_LOGITS: a->logits = true; return 0;
    case C_UNSCALED: a->unscaled = true; return 0;
    }
    return 0;
}

/* Parses the words, checks MODEL and -o, prepares the output and refuses
 * one that is the input. */
static int conv_start(conv_args *a, int argc, char **argv,
                      const cli_opt *opts, cli_out *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    int rc = cli_parse(a->cmd, argc, argv, opts, conv_opt, a);
    if (rc) return rc;
    if (!a->model) return cli_usage_error(a->cmd, "missing MODEL");
    if (!a->output) return cli_usage_error(a->cmd, "missing --output FILE");
    if ((rc = cli_check_path("MODEL", a->model))) return rc;
    if ((rc = cli_out_prepare(out, "--output", a->output))) return rc;
    cli_file in[1] = {{"MODEL", a->model}};
    cli_out *outs[1] = {out};
    return cli_check_files(a->cmd, in, 1, outs, 1);
}

/* ------------------------------------------------------------ import */
static const cli_opt import_opts[] = {{"output", 'o', true, C_OUTPUT},
                                      {"help", 'h', false, C_HELP},
                                      {NULL, 0, false, 0}};

int cmd_import(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(import_help, stdout);
        return 0;
    }
    conv_args a = {.cmd = "import"};
    cli_out out;
    nn_net_t *net = NULL;
    unsigned char *buf = NULL;
    int kind = CLI_MODEL_ONNX;
    int rc = conv_start(&a, argc, argv, import_opts, &out);
    if (!rc) rc = cli_load_model(a.model, &net, NULL, &kind);
    if (!rc && kind == CLI_MODEL_NATIVE)
        rc = cli_error("%s: already a libnn model file: libnn import reads "
                       "ONNX models", cli_in_shown(a.model));
    size_t size = 0;
    nn_status st = NN_OK;
    if (!rc) st = nn_model_save_mem(net, NULL, NULL, 0, &size);
    if (!rc && !st && !(buf = malloc(size))) st = NN_ERR_NOMEM;
    if (!rc && !st) st = nn_model_save_mem(net, NULL, buf, size, &size);
    if (!rc && st) rc = cli_lib_error("saving the model", NULL, st, NULL);
    if (!rc) rc = cli_out_write(&out, buf, size);
    free(buf);
    nn_net_destroy(net);
    cli_out_free(&out);
    return rc;
}

/* ------------------------------------------------------------ export */
/* Folds x' = (x - o) / s into layer 0 of net: W'[i][j] = W[i][j] / s_i,
 * b'[j] = b[j] - sum_i o_i W'[i][j] (terms with o_i = 0 skipped, so a
 * plain division leaves b exactly as it was), then drops the scaler. */
static int fold_scaler(nn_net_t *net, const nn_scaler_t *sc)
{
    size_t n = nn_net_layer_n_in(net, 0), k = nn_net_layer_n_out(net, 0);
    double *W = n <= SIZE_MAX / sizeof *W / k ? malloc(n * k * sizeof *W)
                                              : NULL;
    double *b = malloc(k * sizeof *b), *p = malloc(2 * n * sizeof *p);
    int rc = W && b && p ? 0 : cli_error("out of memory");
    if (!rc && (nn_net_get_params(net, 0, NN_ROW_MAJOR, W, k, b) ||
                nn_scaler_get_params(sc, p, p + n)))
        rc = cli_error("internal: reading the first layer or the scaling");
    bool finite = true; /* a diverged model stays as it is */
    for (size_t i = 0; !rc && i < n * k; i++)
        finite = finite && isfinite(W[i]) && (i >= k || isfinite(b[i]));
    for (size_t i = 0; !rc && i < n; i++)
        for (size_t j = 0; j < k; j++) W[i * k + j] /= p[n + i];
    for (size_t i = 0; !rc && i < n; i++)
        for (size_t j = 0; j < k && p[i] != 0.0; j++)
            b[j] -= p[i] * W[i * k + j];
    for (size_t i = 0; !rc && finite && i < n * k; i++)
        if (!isfinite(W[i]) || (i < k && !isfinite(b[i])))
            rc = cli_error("folding the input scaling into the first layer "
                           "gives non-finite weights: use --unscaled");
    if (!rc && (nn_net_set_params(net, 0, NN_ROW_MAJOR, W, k, b) ||
                nn_net_set_scaler(net, NN_SCALER_INPUT, NULL)))
        rc = cli_error("internal: writing the first layer");
    free(W);
    free(b);
    free(p);
    return rc;
}

/* Folds the inverse of a target scaler, y = y' s_j + o_j, into the last
 * layer, which must be an identity output: W'[i][j] = W[i][j] s_j,
 * b'[j] = b[j] s_j + o_j; then drops the scaler. */
static int fold_target(nn_net_t *net, const nn_scaler_t *sc)
{
    size_t L = nn_net_n_layers(net) - 1;
    size_t n = nn_net_layer_n_in(net, L), k = nn_net_layer_n_out(net, L);
    int64_t act = NN_ACT_IDENTITY;
    nn_net_get_layer_int(net, L, NN_LAYER_ACTIVATION, &act);
    if (act != NN_ACT_IDENTITY)
        return cli_error("the target scaling cannot be folded into a %s "
                         "output layer: use --unscaled (the ONNX model then "
                         "gives scaled targets)",
                         cli_act_name((nn_activation)act));
    double *W = n <= SIZE_MAX / sizeof *W / k ? malloc(n * k * sizeof *W)
                                              : NULL;
    double *b = malloc(k * sizeof *b), *p = malloc(2 * k * sizeof *p);
    int rc = W && b && p ? 0 : cli_error("out of memory");
    if (!rc && (nn_net_get_params(net, L, NN_ROW_MAJOR, W, k, b) ||
                nn_scaler_get_params(sc, p, p + k)))
        rc = cli_error("internal: reading the last layer or the scaling");
    for (size_t i = 0; !rc && i < n; i++)
        for (size_t j = 0; j < k; j++) W[i * k + j] *= p[k + j];
    for (size_t j = 0; !rc && j < k; j++) b[j] = b[j] * p[k + j] + p[j];
    if (!rc && (nn_net_set_params(net, L, NN_ROW_MAJOR, W, k, b) ||
                nn_net_set_scaler(net, NN_SCALER_TARGET, NULL)))
        rc = cli_error("internal: writing the last layer");
    free(W);
    free(b);
    free(p);
    return rc;
}

/* The network to export: net itself, or a copy with the input scaling
 * and the inverse of the target scaling folded in (*copy, to destroy). */
static int export_net(const conv_args *a, nn_net_t *net, nn_net_t **copy)
{
    const nn_scaler_t *in = nn_net_get_scaler(net, NN_SCALER_INPUT);
    const nn_scaler_t *tg = nn_net_get_scaler(net, NN_SCALER_TARGET);
    *copy = NULL;
    if ((!in && !tg) || a->unscaled) return 0;
    nn_status st = nn_net_clone(copy, net, NULL);
    if (st) return cli_lib_error("copying the network", NULL, st, NULL);
    int rc = in ? fold_scaler(*copy, in) : 0;
    if (!rc && tg) rc = fold_target(*copy, tg);
    return rc;
}

static const cli_opt export_opts[] = {
    {"output", 'o', true, C_OUTPUT}, {"logits", 0, false, C_LOGITS},
    {"unscaled", 0, false, C_UNSCALED}, {"help", 'h', false, C_HELP},
    {NULL, 0, false, 0}};

int cmd_export(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(export_help, stdout);
        return 0;
    }
    conv_args a = {.cmd = "export"};
    cli_out out;
    nn_net_t *net = NULL, *copy = NULL;
    unsigned char *buf = NULL;
    int rc = conv_start(&a, argc, argv, export_opts, &out);
    if (!rc) rc = cli_load_model(a.model, &net, NULL, NULL);
    if (!rc) rc = export_net(&a, net, &copy);
    const nn_net_t *src = copy ? copy : net;
    int32_t flags = a.logits ? NN_ONNX_LOGITS : 0;
    size_t size = 0;
    nn_status st = NN_OK;
    if (!rc) st = nn_onnx_save_mem(src, flags, NULL, 0, &size);
    if (!rc && !st && !(buf = malloc(size))) st = NN_ERR_NOMEM;
    if (!rc && !st) st = nn_onnx_save_mem(src, flags, buf, size, &size);
    if (!rc && st == NN_ERR_UNSUPPORTED && !onnx_built())
        rc = cli_error("exporting to ONNX: this libnn was built without ONNX "
                       "support");
    if (!rc && st) rc = cli_lib_error("exporting to ONNX", NULL, st, NULL);
    if (!rc) rc = cli_out_write(&out, buf, size);
    free(buf);
    nn_net_destroy(copy);
    nn_net_destroy(net);
    cli_out_free(&out);
    return rc;
}

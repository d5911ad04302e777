/* predict: run a model compiled by `kiln compile` on numbers read from a file.
 *
 *   kiln compile examples/aot/rings/model.json -o build --name rings
 *   cc -O2 -I build examples/aot/main.c -L build -lrings -Wl,-rpath,build -o build/predict
 *   build/predict examples/aot/input.txt
 *
 * For a library compiled with another --name, add -DMODEL=thatname (and -lthatname); for one
 * compiled with --weights file, add -DWEIGHTS_FILE and run `predict INPUT build/NAME.weights`.
 *
 * Input: text, numbers separated by white space or commas ('#' starts a comment up to the
 * end of the line): all samples of input 0, row-major, then all samples of input 1, ...
 * The number of samples is the count of numbers divided by the numbers per sample.
 * Output: for each output, a header line, then one line of values per sample.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODEL
#define MODEL rings
#endif
#define GLUE2(a, b) a##_##b
#define GLUE(a, b) GLUE2(a, b)
#define API(fn) GLUE(MODEL, fn)          /* API(run) is rings_run */
#define QUOTE2(x) #x
#define QUOTE(x) QUOTE2(x)
#include QUOTE(MODEL.h)                  /* rings.h */

static void *xmalloc(size_t size) {
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "predict: out of memory\n");
        exit(1);
    }
    return p;
}

/* Elements of one sample of tensor `shape` (everything after the batch dimension). */
static int64_t per_sample(int rank, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 1; d < rank; d++) n *= shape[d];
    return n;
}

static size_t element_size(const char *dtype) {
    return strcmp(dtype, "bool") == 0 ? 1 : 4;
}

/* Read every number in the file; returns the count (-1 on error), *values gets the array. */
static long read_numbers(FILE *f, double **values) {
    size_t count = 0, capacity = 1024;
    double *v = xmalloc(capacity * sizeof *v);
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (c == '#') {
            while ((c = fgetc(f)) != EOF && c != '\n') {}
        } else if (!isspace(c) && c != ',') {
            ungetc(c, f);
            if (count == capacity) {
                double *bigger = realloc(v, (capacity *= 2) * sizeof *v);
                if (!bigger) {
                    fprintf(stderr, "predict: out of memory\n");
                    exit(1);
                }
                v = bigger;
            }
            if (fscanf(f, "%lf", &v[count]) != 1) {
                fprintf(stderr, "predict: the input has something other than a number after "
                                "%zu numbers\n", count);
                free(v);
                return -1;
            }
            count++;
        }
    }
    *values = v;
    return (long)count;
}

static void store(void *buffer, const char *dtype, int64_t i, double value) {
    if (strcmp(dtype, "float32") == 0) ((float *)buffer)[i] = (float)value;
    else if (strcmp(dtype, "int32") == 0) ((int32_t *)buffer)[i] = (int32_t)value;
    else ((uint8_t *)buffer)[i] = value != 0;
}

static void print_value(const void *buffer, const char *dtype, int64_t i) {
    if (strcmp(dtype, "float32") == 0) printf("%.9g", ((const float *)buffer)[i]);
    else if (strcmp(dtype, "int32") == 0) printf("%d", (int)((const int32_t *)buffer)[i]);
    else printf("%d", (int)((const uint8_t *)buffer)[i]);
}

int main(int argc, char **argv) {
#ifdef WEIGHTS_FILE
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUT.txt WEIGHTS   (INPUT '-' reads stdin)\n", argv[0]);
        return 2;
    }
    int loaded = API(load_weights)(argv[2]);
    if (loaded != KILN_OK) {
        fprintf(stderr, "predict: cannot load %s: %s\n", argv[2], API(status_string)(loaded));
        return 1;
    }
#else
    if (argc != 2) {
        fprintf(stderr, "usage: %s INPUT.txt   (INPUT '-' reads stdin)\n", argv[0]);
        return 2;
    }
#endif
    FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    double *numbers;
    long count = read_numbers(f, &numbers);
    if (f != stdin) fclose(f);
    if (count < 0) return 1;

    int n_in = API(num_inputs)(), n_out = API(num_outputs)();
    int64_t sample = 0;
    for (int i = 0; i < n_in; i++) sample += per_sample(API(input_rank)(i), API(input_shape)(i));
    if (count == 0 || count % sample != 0) {
        fprintf(stderr, "predict: read %ld numbers; expected a multiple of %lld (one sample "
                        "of every input)\n", count, (long long)sample);
        return 1;
    }
    int64_t n = count / sample;

    const void **inputs = xmalloc((size_t)n_in * sizeof *inputs);
    void **outputs = xmalloc((size_t)n_out * sizeof *outputs);
    long next = 0;
    for (int i = 0; i < n_in; i++) {
        const char *dtype = API(input_dtype)(i);
        int64_t size = n * per_sample(API(input_rank)(i), API(input_shape)(i));
        void *buffer = xmalloc((size_t)size * element_size(dtype) + 1);
        for (int64_t k = 0; k < size; k++) store(buffer, dtype, k, numbers[next++]);
        inputs[i] = buffer;
    }
    for (int i = 0; i < n_out; i++) {
        int64_t size = n * per_sample(API(output_rank)(i), API(output_shape)(i));
        outputs[i] = xmalloc((size_t)size * element_size(API(output_dtype)(i)) + 1);
    }
    void *workspace = aligned_alloc(64, API(workspace_size)());   /* a multiple of 64 */
    if (!workspace) {
        fprintf(stderr, "predict: out of memory\n");
        return 1;
    }

    int status = API(run_batch)(n, inputs, outputs, workspace);
    if (status != KILN_OK) {
        fprintf(stderr, "predict: %s\n", API(status_string)(status));
        return 1;
    }
    for (int i = 0; i < n_out; i++) {
        int rank = API(output_rank)(i);
        const int64_t *shape = API(output_shape)(i);
        const char *dtype = API(output_dtype)(i);
        printf("output %d %s [%lld", i, API(output_name)(i), (long long)n);
        for (int d = 1; d < rank; d++) printf(", %lld", (long long)shape[d]);
        printf("] %s\n", dtype);
        int64_t row = per_sample(rank, shape);
        for (int64_t s = 0; s < n; s++) {
            for (int64_t k = 0; k < row; k++) {
                if (k) putchar(' ');
                print_value(outputs[i], dtype, s * row + k);
            }
            putchar('\n');
        }
    }
    for (int i = 0; i < n_in; i++) free((void *)inputs[i]);
    for (int i = 0; i < n_out; i++) free(outputs[i]);
    free(inputs);
    free(outputs);
    free(numbers);
    free(workspace);
    return 0;
}

/* Two threads run MODEL_run concurrently, each with its own workspace, inputs and outputs.
 *
 *   harness IN_A IN_B OUT_A OUT_B ITERATIONS
 *
 * IN_x: raw bytes of one batch of every input, concatenated in input order. Each thread runs
 * ITERATIONS times and counts runs whose outputs differ from its first run's; the program
 * prints "status S mismatches M" per thread and writes each thread's last outputs to OUT_x.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GLUE2(a, b) a##_##b
#define GLUE(a, b) GLUE2(a, b)
#define API(fn) GLUE(MODEL, fn)
#define QUOTE2(x) #x
#define QUOTE(x) QUOTE2(x)
#include QUOTE(MODEL.h)

static size_t nbytes(int rank, const int64_t *shape, const char *dtype) {
    size_t n = strcmp(dtype, "bool") == 0 ? 1 : 4;
    for (int d = 0; d < rank; d++) n *= (size_t)shape[d];
    return n;
}

typedef struct {
    const char *in_path, *out_path;
    int iterations, status, mismatches;
} job_t;

static void *worker(void *arg) {
    job_t *job = arg;
    int n_in = API(num_inputs)(), n_out = API(num_outputs)();
    const void *inputs[16];
    void *outputs[16], *first[16];
    size_t out_bytes[16];
    FILE *f = fopen(job->in_path, "rb");
    if (!f || n_in > 16 || n_out > 16) { job->status = -1; return NULL; }
    for (int i = 0; i < n_in; i++) {
        size_t size = nbytes(API(input_rank)(i), API(input_shape)(i), API(input_dtype)(i));
        void *buffer = malloc(size);
        if (fread(buffer, 1, size, f) != size) { job->status = -2; return NULL; }
        inputs[i] = buffer;
    }
    fclose(f);
    for (int i = 0; i < n_out; i++) {
        out_bytes[i] = nbytes(API(output_rank)(i), API(output_shape)(i), API(output_dtype)(i));
        outputs[i] = malloc(out_bytes[i]);
        first[i] = malloc(out_bytes[i]);
    }
    void *workspace = aligned_alloc(64, API(workspace_size)());
    for (int it = 0; it < job->iterations; it++) {
        int status = API(run)(inputs, outputs, workspace);
        if (status != KILN_OK) { job->status = status; return NULL; }
        for (int i = 0; i < n_out; i++) {
            if (it == 0) memcpy(first[i], outputs[i], out_bytes[i]);
            else if (memcmp(first[i], outputs[i], out_bytes[i]) != 0) { job->mismatches++; break; }
        }
    }
    f = fopen(job->out_path, "wb");
    for (int i = 0; i < n_out; i++) fwrite(outputs[i], 1, out_bytes[i], f);
    fclose(f);
    free(workspace);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) return 2;
    job_t jobs[2] = {{argv[1], argv[3], atoi(argv[5]), 0, 0},
                     {argv[2], argv[4], atoi(argv[5]), 0, 0}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) pthread_create(&threads[t], NULL, worker, &jobs[t]);
    for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) printf("status %d mismatches %d\n", jobs[t].status,
                                       jobs[t].mismatches);
    return 0;
}

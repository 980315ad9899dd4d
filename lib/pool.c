/* pool.c — a small persistent team of threads for the length of one call
 * (nn_train with NN_TRAIN_THREADS): n - 1 threads started once, then any
 * number of rounds in which member w (0..n-1) runs fn(ctx, w), member 0 on
 * the calling thread; a round returns when every member is done. A round
 * allocates nothing; its hand-off costs one uncontended lock, and a
 * wake-up only for a thread that went to sleep.
 *
 * Hand-off: the caller publishes (fn, ctx), sets the count of members still
 * running and bumps a generation counter (release); each thread waits for
 * a new generation (acquire), runs its part and counts itself done (the
 * last one wakes the caller). Waits spin briefly first (a round is a few
 * hundred microseconds, a sleep and wake-up tens), then sleep on a
 * condition variable, so an idle team costs no CPU: between epochs, or
 * while a report callback runs. The generation is bumped under the mutex
 * and the sleeping paths test their flag under it, so no wake-up is lost.
 *
 * Signals: the threads are started with every signal blocked, so a
 * process's handlers (SIGINT in the nn tool) run on the caller's thread,
 * as without the team. */
#define _POSIX_C_SOURCE 200809L
#include "nn_private.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* Polls of a flag before a wait goes to sleep (each a pause instruction:
 * some tens of microseconds in all). */
#define SPINS 4096

typedef struct member {
    struct nn__pool *pool;
    size_t w;
} member;

struct nn__pool {
    nn_allocator al;
    size_t n, started; /* members; threads running (n - 1 once made) */
    size_t bytes;
    pthread_t *threads;
    member *members;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_ulong gen;   /* bumped once per round (and to quit) */
    atomic_size_t left; /* threads of this round not done yet */
    atomic_bool quit;
    nn__pool_fn fn;     /* the round's work: written before gen's bump */
    void *ctx;
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait for a generation other than `seen`; returns it. */
static unsigned long wait_round(nn__pool *p, unsigned long seen)
{
    unsigned long g;
    for (int i = 0; i < SPINS; i++) {
        g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        relax();
    }
    pthread_mutex_lock(&p->mu);
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->go, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *thread_main(void *arg)
{
    member *me = arg;
    nn__pool *p = me->pool;
    unsigned long seen = 0;
    for (;;) {
        seen = wait_round(p, seen);
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) break;
        p->fn(p->ctx, me->w);
        if (atomic_fetch_sub_explicit(&p->left, 1, memory_order_acq_rel) ==
            1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Start the next generation: every thread's wait returns. */
static void bump(nn__pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
}

/* Stop and join the threads started so far, then free everything. */
static void pool_free(nn__pool *p)
{
    atomic_store_explicit(&p->quit, true, memory_order_release);
    bump(p);
    for (size_t i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    nn_allocator al = p->al;
    nn__free(&al, p, p->bytes);
}

/* The threads, started with every signal blocked (they inherit the mask);
 * the caller's mask is restored. */
static nn_status start_threads(nn__pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old)) return NN_ERR_NOMEM;
    nn_status st = NN_OK;
    for (size_t w = 1; w < p->n && !st; w++) {
        p->members[w - 1] = (member){p, w};
        if (pthread_create(&p->threads[w - 1], NULL, thread_main,
                           &p->members[w - 1]))
            st = NN_ERR_NOMEM; /* EAGAIN: out of threads or memory */
        else
            p->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

nn_status nn__pool_create(nn__pool **out, size_t n, const nn_allocator *al)
{
    size_t tb, mb, bytes;
    if (n == 0 || !nn__mul(n, sizeof(pthread_t), &tb) ||
        !nn__mul(n, sizeof(member), &mb) ||
        !nn__add(sizeof(nn__pool), tb, &bytes) || !nn__add(bytes, mb, &bytes))
        return NN_ERR_TOO_LARGE;
    nn__pool *p = nn__alloc(al, bytes);
    if (!p) return NN_ERR_NOMEM;
    memset(p, 0, sizeof *p);
    p->al = *al;
    p->n = n;
    p->bytes = bytes;
    p->threads = (pthread_t *)(p + 1);
    p->members = (member *)((char *)p->threads + tb);
    atomic_init(&p->gen, 0);
    atomic_init(&p->left, 0);
    atomic_init(&p->quit, false);
    if (pthread_mutex_init(&p->mu, NULL)) {
        nn__free(al, p, bytes);
        return NN_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->go, NULL) || pthread_cond_init(&p->done, NULL)) {
        /* a condition variable that was not made is not destroyed: glibc's
         * init cannot fail, and this path only exists for the standard */
        pthread_mutex_destroy(&p->mu);
        nn__free(al, p, bytes);
        return NN_ERR_NOMEM;
    }
    nn_status st = start_threads(p);
    if (st) {
        pool_free(p);
        return st;
    }
    *out = p;
    return NN_OK;
}

void nn__pool_run(nn__pool *p, nn__pool_fn fn, void *ctx)
{
    if (p->n == 1) {
        fn(ctx, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->left, p->n - 1, memory_order_relaxed);
    bump(p); /* releases fn, ctx and left with the new generation */
    fn(ctx, 0);
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(&p->left, memory_order_acquire) == 0) return;
        relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->left, memory_order_acquire) != 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void nn__pool_destroy(nn__pool *p)
{
    if (p) pool_free(p);
}

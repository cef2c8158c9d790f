/* queue.c: the bounded queues between the pipeline's threads; see stages.h. */
#include <string.h>

#include "stages.h"

void queue_init(queue *q)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

void queue_destroy(queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

void queue_push(queue *q, batch *b)
{
	pthread_mutex_lock(&q->mu);
	q->items[(q->head + q->count++) % (POOL_SIZE + 1)] = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

batch *queue_pop(queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->count && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	batch *b = NULL;
	if (q->count && !q->closed) {
		b = q->items[q->head];
		q->head = (q->head + 1) % (POOL_SIZE + 1);
		q->count--;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

void queue_close(queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

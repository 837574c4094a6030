/**
 * The sinks that ship with walship. Importing this module registers each of them by its
 * short name (`http`); the iLogtail name (`flusher_http`) resolves to the same sink.
 */
import './http/register.ts';
import './redis/register.ts';
import './nats/register.ts';
import './file/register.ts';
import './stdout/register.ts';

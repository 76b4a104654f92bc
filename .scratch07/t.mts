import { Redis } from 'ioredis';
const url = 'redis://127.0.0.1:16399';
const mon = await new Redis(url).monitor();
mon.on('monitor', (time, args, source, db) => console.log('MON', time, JSON.stringify(args), source, db));
const sub = new Redis(url);
await sub.subscribe('chat');
sub.on('message', (c, m) => console.log('MSG', c, m));
const pub = new Redis(url);
console.log('numsub', await pub.pubsub('NUMSUB', 'chat'));
console.log(await pub.publish('chat', 'hi'));
try { await sub.publish('chat', 'x'); } catch (e) { console.log('ERR', (e as Error).message); }
console.log((await pub.client('LIST')));
await new Promise(r => setTimeout(r, 100));
process.exit(0);

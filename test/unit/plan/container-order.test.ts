import { describe, expect, it } from 'vitest';
import { dependenciesOf, startOrder, startWaves, stopWaves, type OrderableContainer } from '../../../src/plan/container-order.js';

const id = (n: number) => n.toString(16).repeat(64).slice(0, 64);

const before = (order: string[], first: string, then: string) => {
  expect(order.indexOf(first), `${first} before ${then} in ${order.join(',')}`).toBeLessThan(order.indexOf(then));
};

describe('dependenciesOf', () => {
  const all: OrderableContainer[] = [
    { name: 'web', id: id(1) },
    { name: 'db', id: id(2) },
    { name: 'shr', id: id(3) },
    { name: 'data', id: id(4) },
  ];

  it('follows container: network, IPC and PID modes by full ID, short ID or name', () => {
    expect(dependenciesOf({ name: 'x', networkMode: `container:${id(1)}` }, all)).toEqual(['web']);
    expect(dependenciesOf({ name: 'x', ipcMode: `container:${id(3).slice(0, 12)}` }, all)).toEqual(['shr']);
    expect(dependenciesOf({ name: 'x', pidMode: 'container:db' }, all)).toEqual(['db']);
  });

  it('follows links as recorded (/db:/x/alias) and as given (db:alias)', () => {
    expect(dependenciesOf({ name: 'x', links: ['/db:/x/database'] }, all)).toEqual(['db']);
    expect(dependenciesOf({ name: 'x', links: ['web:front'] }, all)).toEqual(['web']);
  });

  it('follows --volumes-from with or without a mode', () => {
    expect(dependenciesOf({ name: 'x', volumesFrom: ['data:ro', id(2)] }, all)).toEqual(['data', 'db']);
  });

  it('ignores containers outside the set, plain network modes and itself', () => {
    expect(dependenciesOf({ name: 'x', networkMode: 'appnet', volumesFrom: ['gone'] }, all)).toEqual([]);
    expect(dependenciesOf({ name: 'web', id: id(1), links: ['/web:/web/self'] }, all)).toEqual([]);
  });
});

describe('startOrder / startWaves / stopWaves', () => {
  const containers: OrderableContainer[] = [
    { name: 'sidecar', networkMode: `container:${id(1)}`, ipcMode: 'container:shr' },
    { name: 'app', id: id(1), links: ['/db:/app/database'], volumesFrom: ['data:ro'] },
    { name: 'db', id: id(2) },
    { name: 'shr', id: id(3) },
    { name: 'data', id: id(4) },
    { name: 'lonely', id: id(5) },
  ];

  it('starts dependencies first', () => {
    const order = startOrder(containers);
    expect(order).toHaveLength(containers.length);
    before(order, 'db', 'app');
    before(order, 'data', 'app');
    before(order, 'app', 'sidecar');
    before(order, 'shr', 'sidecar');
  });

  it('stops dependents first, each wave at once', () => {
    expect(stopWaves(containers)).toEqual([
      ['lonely', 'sidecar'],
      ['app', 'shr'],
      ['data', 'db'],
    ]);
  });

  it('starts dependencies a wave before what depends on them, each wave at once', () => {
    expect(startWaves(containers)).toEqual([
      ['data', 'db', 'lonely', 'shr'],
      ['app'],
      ['sidecar'],
    ]);
  });

  it('puts at most the wave width in one wave', () => {
    const many = Array.from({ length: 10 }, (_, i) => ({ name: `c${String(i).padStart(2, '0')}` }));
    expect(stopWaves(many).map((wave) => wave.length)).toEqual([8, 2]);
    expect(stopWaves(many, 3).map((wave) => wave.length)).toEqual([3, 3, 3, 1]);
    expect(startWaves(many, 3).map((wave) => wave.length)).toEqual([3, 3, 3, 1]);
  });

  it('is deterministic: free containers go by name, whatever the input order', () => {
    expect(startOrder(containers)).toEqual(['data', 'db', 'app', 'lonely', 'shr', 'sidecar']);
    expect(startOrder([...containers].reverse())).toEqual(startOrder(containers));
  });

  it('breaks a cycle at the first name and keeps the rest ordered', () => {
    const cyclic: OrderableContainer[] = [
      { name: 'b', volumesFrom: ['a'] },
      { name: 'a', links: ['c:x'] },
      { name: 'c', volumesFrom: ['b'] },
      { name: 'd', networkMode: 'container:c' },
    ];
    const order = startOrder(cyclic);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(startOrder([...cyclic].reverse())).toEqual(order);
    expect(stopWaves(cyclic)).toEqual([['d'], ['a'], ['c'], ['b']]);
    expect(startWaves(cyclic)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('handles an empty list', () => {
    expect(startOrder([])).toEqual([]);
    expect(stopWaves([])).toEqual([]);
    expect(startWaves([])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { ipfsUrl, parseDisplayCurrency, parseIpfsGateway } from './config.ts';

describe('settings', () => {
  it('reads a display currency or names the setting it refuses', () => {
    expect(parseDisplayCurrency('USD:2.5')).toEqual({ code: 'USD', perToken: 2.5 });
    expect(parseDisplayCurrency(undefined)).toBeNull();
    expect(() => parseDisplayCurrency('dollars')).toThrow(/VILO_DISPLAY_CURRENCY/);
    expect(() => parseDisplayCurrency('USD:0')).toThrow(/VILO_DISPLAY_CURRENCY/);
  });
  it('reads an IPFS gateway, adding the trailing slash, or names the setting it refuses', () => {
    expect(parseIpfsGateway('https://ipfs.io/ipfs')).toBe('https://ipfs.io/ipfs/');
    expect(parseIpfsGateway('http://127.0.0.1:8080/ipfs/')).toBe('http://127.0.0.1:8080/ipfs/');
    expect(parseIpfsGateway('')).toBeNull();
    expect(() => parseIpfsGateway('ipfs.io')).toThrow(/VILO_IPFS_GATEWAY/);
    expect(() => parseIpfsGateway('javascript:alert(1)')).toThrow(/VILO_IPFS_GATEWAY/);
  });
  it('builds an image URL only from a plain content id', () => {
    const cid = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
    expect(ipfsUrl('https://ipfs.io/ipfs/', cid)).toBe(`https://ipfs.io/ipfs/${cid}`);
    expect(ipfsUrl(null, cid)).toBeNull();
    expect(ipfsUrl('https://ipfs.io/ipfs/', null)).toBeNull();
    // A creator chooses the id: nothing that changes the path or leaves the gateway.
    expect(ipfsUrl('https://ipfs.io/ipfs/', '../../evil.example/x')).toBeNull();
    expect(ipfsUrl('https://ipfs.io/ipfs/', 'a?b')).toBeNull();
  });
});

import { SignJWT } from 'jose'
import { createVerifier } from 'fast-jwt'
import { Verifier } from '@veritoken/node'
const ISS='https://issuer.bench', AUD='api', SECRET='bench-secret-bench-secret-bench-secret-64-bytes-long-enough-yes'
const now=Math.floor(Date.now()/1000)
const token = await new SignJWT({ sub: 'bench-user', scope: 'read write', jti: '8b3c8a1e-2f' }).setProtectedHeader({alg:'HS256'}).setIssuer(ISS).setAudience(AUD).setIssuedAt(now).setExpirationTime(now+3600).sign(new TextEncoder().encode(SECRET))
const ours = new Verifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ['HS256'], keys: [{secret:{value:SECRET,alg:'HS256'}}] }] })
const fast = createVerifier({ key: SECRET, algorithms: ['HS256'], allowedIss: ISS, allowedAud: AUD, requiredClaims: ['exp'], cache: false })
const mode = process.argv[2] || 'both'
function b(fn, n){ const s=process.hrtime.bigint(); for(let i=0;i<n;i++) fn(); return Number(process.hrtime.bigint()-s)/1e3/n }
const fo = () => ours.verifySync(token).claims, ff = () => fast(token)
const fr = () => ours.verifySync(token)
for (let r=0;r<3;r++){ b(fo,20000); b(ff,5000) }
const R = []
const dur = mode==='ours' ? 20 : 7
for (let r=0;r<dur;r++){ const a=b(fo,200000), c = mode==='ours'?0:b(ff,50000), d=b(fr,200000); R.push([a,c,d]); }
R.sort((x,y)=>x[0]-y[0]); const m=R[R.length>>1]; console.log('ours', m[0].toFixed(3), 'fast', m[1].toFixed(3), 'ratio', (m[1]/m[0]).toFixed(2), 'no-claims', m[2].toFixed(3))

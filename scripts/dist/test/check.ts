// tsc --strict against the installed package's own types (a copy in node_modules).
import { Verifier, VeritokenError, version, type ErrorCode, type VerifiedToken } from '@veritoken/node'

const v: string = version
const verifier = new Verifier({ issuers: [] })
async function check(raw: string): Promise<string | ErrorCode> {
  try {
    const token: VerifiedToken = await verifier.verify(raw)
    return token.subject ?? v
  } catch (e) {
    if (e instanceof VeritokenError) return e.code
    throw e
  }
}
void check

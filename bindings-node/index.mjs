import veritoken from './index.js'

export const { Verifier, VerifiedToken, VeritokenError, ERROR_CODES, errorResponse, version } = veritoken
export default veritoken

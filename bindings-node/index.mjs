import veritoken from './index.js'

export const { Verifier, VerifiedToken, VeritokenError, ERROR_CODES, errorResponse } = veritoken
export default veritoken
